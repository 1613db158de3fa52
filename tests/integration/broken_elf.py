# SPDX-License-Identifier: MIT
"""Damaged copies of an ELF file for the broken-target tests (stdlib
only): truncated, section headers overwritten with noise, relabelled
ET_REL, symbol tables hidden, .debug_info that libdw rejects. Each keeps
the ELF header and program headers intact, so that the copy mapped in a
process still looks like an object to leaktrap; what is damaged is what
leaktrap reads from the file afterwards."""

import shutil
import struct
import subprocess

SHT_NULL, SHT_PROGBITS, SHT_SYMTAB, SHT_DYNSYM = 0, 1, 2, 11


def _read(path):
    with open(path, 'rb') as f:
        return bytearray(f.read())


def _write(path, data):
    with open(path, 'wb') as f:
        f.write(data)
    return path


def _noise(n, seed=0x2545F4914F6CDD1D):
    out, x = bytearray(), seed
    while len(out) < n:
        x ^= (x << 13) & 0xffffffffffffffff
        x ^= x >> 7
        x ^= (x << 17) & 0xffffffffffffffff
        out += struct.pack('<Q', x)
    return out[:n]


def sections(data):
    """[(name, index, header offset, type, file offset, size)]."""
    shoff, = struct.unpack_from('<Q', data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from('<HHH', data, 0x3a)
    def hdr(i):
        return struct.unpack_from('<IIQQQQIIQQ', data, shoff + i * shentsize)
    strtab = hdr(shstrndx)
    out = []
    for i in range(shnum):
        h = hdr(i)
        start = strtab[4] + h[0]
        name = bytes(data[start:data.index(0, start)]).decode()
        out.append((name, i, shoff + i * shentsize, h[1], h[4], h[5]))
    return out


def truncated(src, dst, size):
    data = _read(src)
    return _write(dst, data[:size])


def corrupted(src, dst):
    """Section header table and everything after the loaded part of the
    file replaced with noise; e_shnum and e_shstrndx out of range."""
    data = _read(src)
    shoff, = struct.unpack_from('<Q', data, 0x28)
    data[shoff:] = _noise(len(data) - shoff)
    struct.pack_into('<HH', data, 0x3c, 0xfff0, 0xffee)
    # and the symbol tables' contents too, where they lie before it
    for name, _, _, typ, off, size in sections(_read(src)):
        if typ in (SHT_SYMTAB, SHT_DYNSYM) or name in ('.dynstr', '.strtab'):
            data[off:off + size] = _noise(size, seed=off | 1)
    return _write(dst, data)


def et_rel(src, dst):
    """e_type ET_REL (a relocatable object) with the program headers of a
    shared object: the kind of file libdwfl relocates on its own."""
    data = _read(src)
    struct.pack_into('<H', data, 0x10, 1)
    return _write(dst, data)


def stripped(src, dst):
    """strip --strip-all: no .symtab, no debug information (.dynsym stays:
    the dynamic linker needs it)."""
    shutil.copyfile(src, dst)
    subprocess.run(['strip', '--strip-all', dst], check=True)
    return dst


def no_symbols(src, dst):
    """stripped(), and .dynsym relabelled SHT_PROGBITS: no symbol table at
    all (for mapping only; the dynamic linker would refuse it)."""
    stripped(src, dst)
    data = _read(dst)
    for _, _, hoff, typ, _, _ in sections(data):
        if typ == SHT_DYNSYM:
            struct.pack_into('<I', data, hoff + 4, SHT_PROGBITS)
    return _write(dst, data)


def bad_dwarf(src, dst):
    """Every compile unit header in .debug_info made invalid (a reserved
    unit length, DWARF version 0x99), and .debug_line's likewise, so libdw
    rejects them; the rest of the file is intact."""
    data = _read(src)
    found = False
    for name, _, _, _, off, size in sections(data):
        if name in ('.debug_info', '.debug_line') and size >= 8:
            struct.pack_into('<IH', data, off, 0xfffffff0, 0x99)
            data[off + 6:off + size] = _noise(size - 6, seed=off | 1)
            found = True
    if not found:
        raise RuntimeError(f'{src} has no .debug_info to damage')
    return _write(dst, data)
