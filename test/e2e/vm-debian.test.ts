// End to end, nested (docs/testing.md §3): a real Debian 12 disk boots in tendril's VM inside the
// outer QEMU/TCG guest (test/fixtures/debian-vm.ts): the loader given by hand, the product path
// (discovery's automatic entry through the boot dispatch) at the default two vCPUs, and SIGTERM as
// the guest's power button. The product path at one vCPU is not run again: the menu suites
// (menu-vm-debian, vm-netdisk-debian) boot that entry at one vCPU through the same dispatch. The NVMe and AHCI controllers and the variable store have their own
// suites (vm-debian-controllers, vm-debian-vars), so CI's two workers share the runs.
import { describe, expect, it } from 'vitest';
import { DEBIAN_MARKER, SHIM_LOADER, debianDisk } from '../fixtures/debian-disk';
import { CASES, DEBIAN_DEV, FIRMWARE, bootDebianCase, haveQemu, runPart, shQuote } from '../fixtures/debian-vm';
import { runNestedRetrying, sha256, tendrilRunsInitramfs } from '../fixtures/vm';

describe.skipIf(!haveQemu)('a real Debian disk in tendril vm (nested KVM)', () => {
  it.each([CASES.shim, CASES.twoCpus])(
    '$name: OVMF → shim → GRUB → Debian to its marker, exit 0, disk unchanged',
    bootDebianCase,
    2_700_000,
  );

  it('SIGTERM to tendril presses the ACPI power button: Debian powers off cleanly, exit 0', async () => {
    const disk = debianDisk({ powerButton: true });
    const before = sha256(disk.image);
    const vm = `node /tendril.js vm ${FIRMWARE.args} --disk ${DEBIAN_DEV} --loader ${shQuote(`0:1:${SHIM_LOADER}`)} --memory 1G --cpus 1`;
    // tendril runs in the background; once the guest waits for its power button, the outer guest
    // sends tendril SIGTERM, as a host shutting down would.
    const shell = [
      `(${vm} </dev/null 2>&1; echo "TENDRIL-PB-STATUS=$?") | tee /tmp/pb.log & pb=$!`,
      // Until the guest waits for the button, or tendril ended without it getting there.
      'n=0; while ! grep -q -e TENDRIL-DEBIAN-WAITING -e TENDRIL-PB-STATUS /tmp/pb.log && [ $n -lt 1200 ]; do sleep 1; n=$((n + 1)); done',
      // `wait` alone would also wait for /init's own background jobs (the heartbeat).
      'sleep 2; kill -TERM $(pidof node) 2>/dev/null; wait $pb',
    ].join('\n');
    const cpio = tendrilRunsInitramfs('vm-debian-power-button', [{ label: 'pb', argv: '', shell }], {
      files: FIRMWARE.files,
      outerDisks: 1,
    });
    const run = await runNestedRetrying(cpio, ['TENDRIL-EXIT-CODE='], 3, {
      drives: [disk.image],
      timeoutMs: 1_200_000,
      stallS: 600,
    });
    expect(run.hostFault, `${run.hostFault}\n${run.kernelLog.slice(-6000)}`).toBeNull();
    const pb = runPart(run.log, 'pb');
    const tail = pb.slice(-4000);
    expect(pb, tail).toMatch(/^TENDRIL-DEBIAN-WAITING dev=\/dev\/input\/event\d+$/m);
    expect(pb, tail).toContain("tendril vm: pressing the guest's power button (ACPI)");
    expect(pb, tail).toMatch(/^TENDRIL-DEBIAN-POWER-BUTTON$/m);
    expect(pb, tail).toMatch(new RegExp(`^${DEBIAN_MARKER}$`, 'm'));
    expect(pb, tail).toContain('reboot: Power down');
    expect(pb, tail).toContain('tendril vm: guest powered off');
    expect(pb, tail).toMatch(/^TENDRIL-PB-STATUS=0$/m);
    expect(/TENDRIL-VDA-SHA256=([0-9a-f]{64})/.exec(run.log)?.[1], 'the disk as the outer guest read it').toBe(before);
  }, 2_700_000);
});
