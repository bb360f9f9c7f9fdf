// NVM Express constants tendril's controller uses (NVMe Base Specification 1.4c, NVM Command Set
// 1.0; docs/vmm-platform.md §14). Names follow the specification's mnemonics.

/** PCI IDs: the Intel ID QEMU's first NVMe model had, which OVMF's boot-order matching and every
 *  inbox driver bind by class code anyway (01:08:02). */
export const NVME_VENDOR = 0x8086;
export const NVME_DEVICE = 0x5845;
export const NVME_CLASS = 0x010802;

// Controller registers (NVMe 1.4c §3.1).
export const REG_CAP = 0x00;
export const REG_VS = 0x08;
export const REG_INTMS = 0x0c;
export const REG_INTMC = 0x10;
export const REG_CC = 0x14;
export const REG_CSTS = 0x1c;
export const REG_AQA = 0x24;
export const REG_ASQ = 0x28;
export const REG_ACQ = 0x30;
export const DOORBELLS = 0x1000;
/** CAP.DSTRD = 0: doorbells 4 bytes apart, SQ y tail at 0x1000 + 8y, CQ y head at 0x1000 + 8y + 4. */
export const sqTailDoorbell = (qid: number): number => DOORBELLS + 8 * qid;
export const cqHeadDoorbell = (qid: number): number => DOORBELLS + 8 * qid + 4;

export const VERSION_1_4 = 0x0001_0400;
export const CC_EN = 1;
export const CC_SHN_SHIFT = 14;
export const CSTS_RDY = 1;
export const CSTS_CFS = 2;
export const CSTS_SHST_COMPLETE = 2 << 2;

/** The largest I/O queue (CAP.MQES + 1): each of its tail values is an eventfd (doorbells.ts). */
export const IO_QUEUE_ENTRIES = 64;
/** I/O submission and completion queue pairs offered (Number of Queues). */
export const MAX_IO_QUEUES = 2;
/** The admin queue may be up to 4096 entries (AQA). */
export const ADMIN_QUEUE_MAX = 4096;
export const SQE_SIZE = 64;
export const CQE_SIZE = 16;
export const PAGE_SIZE = 4096;
/** MDTS: 2^7 pages = 512 KiB per command. */
export const MDTS = 7;
export const MAX_TRANSFER = PAGE_SIZE << MDTS;
export const LBA_SIZE = 512;
/** Asynchronous Event Request Limit (0-based) and Abort Command Limit (0-based). */
export const AERL = 3;
export const ACL = 3;

// Admin opcodes (NVMe 1.4c §5).
export const ADM_DELETE_SQ = 0x00;
export const ADM_CREATE_SQ = 0x01;
export const ADM_GET_LOG_PAGE = 0x02;
export const ADM_DELETE_CQ = 0x04;
export const ADM_CREATE_CQ = 0x05;
export const ADM_IDENTIFY = 0x06;
export const ADM_ABORT = 0x08;
export const ADM_SET_FEATURES = 0x09;
export const ADM_GET_FEATURES = 0x0a;
export const ADM_ASYNC_EVENT = 0x0c;

// NVM command set opcodes (NVM Command Set 1.0, section 3).
export const NVM_FLUSH = 0x00;
export const NVM_WRITE = 0x01;
export const NVM_READ = 0x02;
export const NVM_WRITE_ZEROES = 0x08;
export const NVM_DSM = 0x09;

// Identify CNS values (NVMe 1.4c §5.15).
export const CNS_NAMESPACE = 0x00;
export const CNS_CONTROLLER = 0x01;
export const CNS_ACTIVE_NS_LIST = 0x02;
export const CNS_NS_DESCRIPTORS = 0x03;

// Feature identifiers (NVMe 1.4c §5.21.1).
export const FEAT_ARBITRATION = 0x01;
export const FEAT_POWER_MGMT = 0x02;
export const FEAT_TEMP_THRESHOLD = 0x04;
export const FEAT_ERROR_RECOVERY = 0x05;
export const FEAT_VOLATILE_WC = 0x06;
export const FEAT_NUM_QUEUES = 0x07;
export const FEAT_IRQ_COALESCING = 0x08;
export const FEAT_IRQ_VECTOR_CONFIG = 0x09;
export const FEAT_WRITE_ATOMICITY = 0x0a;
export const FEAT_ASYNC_EVENT_CONFIG = 0x0b;

// Log pages (NVMe 1.4c §5.14.1).
export const LOG_ERROR = 0x01;
export const LOG_SMART = 0x02;
export const LOG_FIRMWARE_SLOT = 0x03;

/** A completion status: Status Code Type and Status Code (NVMe 1.4c §4.6.1.2). */
export interface Status {
  readonly sct: number;
  readonly sc: number;
  /** Do Not Retry. */
  readonly dnr?: boolean;
}
export const SUCCESS: Status = { sct: 0, sc: 0 };
export const INVALID_OPCODE: Status = { sct: 0, sc: 0x01, dnr: true };
export const INVALID_FIELD: Status = { sct: 0, sc: 0x02, dnr: true };
export const DATA_TRANSFER_ERROR: Status = { sct: 0, sc: 0x04 };
export const INTERNAL_ERROR: Status = { sct: 0, sc: 0x06 };
export const INVALID_NAMESPACE: Status = { sct: 0, sc: 0x0b, dnr: true };
export const INVALID_PRP_OFFSET: Status = { sct: 0, sc: 0x13, dnr: true };
export const NAMESPACE_WRITE_PROTECTED: Status = { sct: 0, sc: 0x20, dnr: true };
export const LBA_OUT_OF_RANGE: Status = { sct: 0, sc: 0x80, dnr: true };
export const CQ_INVALID: Status = { sct: 1, sc: 0x00, dnr: true };
export const INVALID_QUEUE_ID: Status = { sct: 1, sc: 0x01, dnr: true };
export const INVALID_QUEUE_SIZE: Status = { sct: 1, sc: 0x02, dnr: true };
export const AER_LIMIT_EXCEEDED: Status = { sct: 1, sc: 0x05, dnr: true };
export const INVALID_VECTOR: Status = { sct: 1, sc: 0x08, dnr: true };
export const INVALID_LOG_PAGE: Status = { sct: 1, sc: 0x09, dnr: true };
export const INVALID_QUEUE_DELETION: Status = { sct: 1, sc: 0x0c, dnr: true };
export const FEATURE_NOT_SAVEABLE: Status = { sct: 1, sc: 0x0d, dnr: true };
export const WRITE_FAULT: Status = { sct: 2, sc: 0x80 };
export const UNRECOVERED_READ_ERROR: Status = { sct: 2, sc: 0x81 };

/** Completion dword 3: command identifier, phase tag, status (NVMe 1.4c §4.6). */
export function statusDword(cid: number, phase: number, s: Status): number {
  return (
    ((cid & 0xffff) | ((phase & 1) << 16) | ((s.sc & 0xff) << 17) | ((s.sct & 7) << 25) | (s.dnr ? 1 << 31 : 0)) >>> 0
  );
}
