// AHCI and ATA constants tendril's SATA controller uses (Serial ATA AHCI 1.3.1, ATA8-ACS;
// docs/vmm-platform.md §16). Names follow the specifications' mnemonics.

/** PCI IDs: Intel ICH9's AHCI function, which QEMU's ich9-ahci has too, so OVMF's boot-order
 *  matching (pci8086,2922) and every inbox driver (storahci, Linux's ahci) know it. */
export const AHCI_VENDOR = 0x8086;
export const AHCI_DEVICE = 0x2922;
export const AHCI_CLASS = 0x010601;
/** ABAR is BAR5: the generic host control registers, then one 0x80-byte block per port. */
export const ABAR_INDEX = 5;
export const ABAR_SIZE = 0x1000;
export const PORT_BASE = 0x100;
export const PORT_SIZE = 0x80;

// Generic host control (AHCI 1.3.1 §3.1).
export const HBA_CAP = 0x00;
export const HBA_GHC = 0x04;
export const HBA_IS = 0x08;
export const HBA_PI = 0x0c;
export const HBA_VS = 0x10;
export const HBA_CAP2 = 0x24;
export const HBA_BOHC = 0x28;
export const VERSION_1_3_1 = 0x0001_0301;
export const CAP_S64A = 1 << 31;
export const CAP_SNCQ = 1 << 30;
export const CAP_SCLO = 1 << 24;
export const CAP_SAM = 1 << 18;
export const CAP_ISS_SHIFT = 20;
export const CAP_NCS_SHIFT = 8;
export const GHC_HR = 1;
export const GHC_IE = 2;
export const GHC_AE = 1 << 31;

// Port registers, offsets within a port's block (AHCI 1.3.1 §3.3).
export const PX_CLB = 0x00;
export const PX_CLBU = 0x04;
export const PX_FB = 0x08;
export const PX_FBU = 0x0c;
export const PX_IS = 0x10;
export const PX_IE = 0x14;
export const PX_CMD = 0x18;
export const PX_TFD = 0x20;
export const PX_SIG = 0x24;
export const PX_SSTS = 0x28;
export const PX_SCTL = 0x2c;
export const PX_SERR = 0x30;
export const PX_SACT = 0x34;
export const PX_CI = 0x38;

export const CMD_ST = 1 << 0;
export const CMD_SUD = 1 << 1;
export const CMD_POD = 1 << 2;
export const CMD_CLO = 1 << 3;
export const CMD_FRE = 1 << 4;
export const CMD_FR = 1 << 14;
export const CMD_CR = 1 << 15;
/** PxCMD bits software may write and read back (ICC reads 0: the link is always active). */
export const CMD_WRITABLE = CMD_ST | CMD_SUD | CMD_POD | CMD_FRE;

export const IS_DHRS = 1 << 0;
export const IS_PSS = 1 << 1;
export const IS_SDBS = 1 << 3;
export const IS_TFES = 1 << 30;
/** PxIS and PxIE bits this HBA ever sets or lets software enable. */
export const IS_VALID = 0xfdc0_00ff;

/** PxSIG of an ATA device; PxSSTS: device present and link up (DET 3), Gen3 (SPD 3), active (IPM 1). */
export const SIG_ATA = 0x0000_0101;
export const SSTS_UP = 0x133;
export const SCTL_DET_COMRESET = 1;

// Memory structures (AHCI 1.3.1 §4.2).
export const SLOTS = 32;
export const CMD_HEADER_SIZE = 32;
export const CMD_LIST_SIZE = SLOTS * CMD_HEADER_SIZE;
export const RX_FIS_SIZE = 256;
/** Received-FIS area: PIO setup, D2H register and set-device-bits FIS offsets. */
export const RX_PSFIS = 0x20;
export const RX_RFIS = 0x40;
export const RX_SDBFIS = 0x58;
export const CT_CFIS = 0x00;
export const CT_PRDT = 0x80;
export const PRD_SIZE = 16;
/** Byte count of one PRD entry: bits 21:0 hold count - 1 (AHCI 1.3.1 §4.2.3.3). */
export const PRD_DBC_MASK = 0x3f_ffff;

// FIS types (SATA 3.x §10.5).
export const FIS_H2D = 0x27;
export const FIS_D2H = 0x34;
export const FIS_SDB = 0xa1;
export const FIS_PIO_SETUP = 0x5f;

// ATA status and error bits (ATA8-ACS §6.1, §6.2).
export const ST_BSY = 0x80;
export const ST_DRDY = 0x40;
export const ST_DF = 0x20;
export const ST_DSC = 0x10;
export const ST_DRQ = 0x08;
export const ST_ERR = 0x01;
export const ERR_ABRT = 0x04;
export const ERR_IDNF = 0x10;
export const ERR_UNC = 0x40;
/** Status after a successful command or a reset: ready, seek complete. */
export const STATUS_OK = ST_DRDY | ST_DSC;

// ATA commands (ATA8-ACS §7).
export const ATA_NOP = 0x00;
export const ATA_DSM = 0x06;
export const ATA_RECALIBRATE = 0x10;
export const ATA_READ_SECTORS = 0x20;
export const ATA_READ_SECTORS_EXT = 0x24;
export const ATA_READ_DMA_EXT = 0x25;
export const ATA_READ_MULTIPLE_EXT = 0x29;
export const ATA_READ_LOG_EXT = 0x2f;
export const ATA_WRITE_SECTORS = 0x30;
export const ATA_WRITE_SECTORS_EXT = 0x34;
export const ATA_WRITE_DMA_EXT = 0x35;
export const ATA_WRITE_MULTIPLE_EXT = 0x39;
export const ATA_READ_VERIFY = 0x40;
export const ATA_READ_VERIFY_EXT = 0x42;
export const ATA_READ_LOG_DMA_EXT = 0x47;
export const ATA_READ_FPDMA_QUEUED = 0x60;
export const ATA_WRITE_FPDMA_QUEUED = 0x61;
export const ATA_EXECUTE_DIAGNOSTIC = 0x90;
export const ATA_INITIALIZE_PARAMS = 0x91;
export const ATA_SMART = 0xb0;
export const ATA_READ_MULTIPLE = 0xc4;
export const ATA_WRITE_MULTIPLE = 0xc5;
export const ATA_SET_MULTIPLE = 0xc6;
export const ATA_READ_DMA = 0xc8;
export const ATA_WRITE_DMA = 0xca;
export const ATA_STANDBY_IMMEDIATE = 0xe0;
export const ATA_IDLE_IMMEDIATE = 0xe1;
export const ATA_STANDBY = 0xe2;
export const ATA_IDLE = 0xe3;
export const ATA_CHECK_POWER_MODE = 0xe5;
export const ATA_FLUSH_CACHE = 0xe7;
export const ATA_FLUSH_CACHE_EXT = 0xea;
export const ATA_IDENTIFY = 0xec;
export const ATA_SET_FEATURES = 0xef;

// SET FEATURES subcommands (ATA8-ACS §7.48).
export const SF_ENABLE_WRITE_CACHE = 0x02;
export const SF_TRANSFER_MODE = 0x03;
export const SF_DISABLE_READ_LOOKAHEAD = 0x55;
export const SF_DISABLE_WRITE_CACHE = 0x82;
export const SF_ENABLE_READ_LOOKAHEAD = 0xaa;
export const SF_ENABLE_SATA_FEATURE = 0x10;
export const SF_DISABLE_SATA_FEATURE = 0x90;

// General purpose logs (ATA8-ACS §A).
export const LOG_DIRECTORY = 0x00;
export const LOG_NCQ_ERROR = 0x10;

export const SECTOR = 512;
/** NCQ queue depth offered (IDENTIFY word 75 + 1): every command slot. */
export const NCQ_DEPTH = 32;
/** Sectors per DRQ block for READ/WRITE MULTIPLE (IDENTIFY word 47). */
export const MAX_MULTIPLE = 16;
