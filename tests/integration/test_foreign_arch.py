# SPDX-License-Identifier: MIT
"""A process running code of another architecture is refused before
anything is changed (exit 7). What qemu-user leaves in /proc/PID/maps is
imitated without qemu: a python process maps an aarch64 ELF file the way
a loader does (its first page and another segment). Controls: the same
process with an x86_64 header is traced, and one mapping a foreign ELF
file once (a tool reading it, not running it) is not refused."""

import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h

EM_X86_64, EM_AARCH64 = 62, 183

MAPPER = r'''
import mmap, sys
f = open(sys.argv[1], 'rb')
maps = [mmap.mmap(f.fileno(), 4096, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ,
                  offset=4096 * i) for i in range(int(sys.argv[2]))]
print('ready', flush=True)
sys.stdin.readline()
'''


def fake_elf(path, machine):
    """A 64-bit little-endian ELF header of the given machine, two pages."""
    ident = b'\x7fELF' + bytes([2, 1, 1]) + bytes(9)
    header = ident + struct.pack('<HHIQQQIHHHHHH', 3, machine, 1, 0, 64, 0, 0, 64, 56, 0,
                                 64, 0, 0)
    with open(path, 'wb') as f:
        f.write(header.ljust(8192, b'\0'))


def mapper(t, machine, segments):
    path = t.path(f'elf-{machine}-{segments}')
    fake_elf(path, machine)
    p = h.Fixture([sys.executable, '-c', MAPPER, path, segments],
                  name=f'python mapping an ELF file of machine {machine}')
    p.ready()
    return p, path


def body(t):
    t.require_ptrace()
    p, path = mapper(t, EM_AARCH64, 2)
    maps_before = p.maps()
    rc, _, err = t.run_leaktrap('-p', p.pid, '-d', '0.2', '-o', os.devnull)
    h.check_eq(rc, 7, 'exit status for a process running aarch64 code')
    h.check('another architecture' in err and 'aarch64' in err and path in err,
            'the message says another architecture, aarch64, and names the file', err)
    h.check(not h.maps_diff(maps_before, p.maps()), 'the process was not changed')
    p.check_detached()
    p.kill()

    for machine, segments, what in ((EM_X86_64, 2, 'an x86_64 object'),
                                     (EM_AARCH64, 1, 'an aarch64 file mapped once')):
        p, _ = mapper(t, machine, segments)
        rc, _, err = t.run_leaktrap('-p', p.pid, '-d', '0.2', '-o', os.devnull)
        h.check_eq(rc, 0, f'exit status for a process that maps {what}')
        p.check_detached()
        p.kill()


h.main(body, fixtures=())
