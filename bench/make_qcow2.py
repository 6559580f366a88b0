#!/usr/bin/env python3
"""Writes QCOW2 v3 images with a host layout chosen cluster by cluster, for
the bounds benchmark (bench/bounds.sh): layouts qemu-img and qemu-io cannot
make quickly or at all.

  make_qcow2.py alternating PATH SIZE_MIB
      512-byte clusters, data (0x5a) and zero clusters alternating.
  make_qcow2.py sparse-compressed PATH COMPRESSED_MIB
      512-byte clusters; the first COMPRESSED_MIB of the disk is deflate
      compressed clusters, each stream 512 bytes long on the host and 64 KiB
      from the next; the 127 clusters between two streams hold the data of
      the rest of the disk (uncompressed), so the disk is 128x that size.

Refcounts are written too, so `qemu-img check` finds the image clean.
"""
import struct
import sys
import zlib

MAGIC = 0x514649FB
L2_COPIED = 1 << 63
L2_COMPRESSED = 1 << 62
L2_ZERO = 1


class Image:
    def __init__(self, path, cluster_bits, size):
        self.f = open(path, "wb")
        self.cb = cluster_bits
        self.cs = 1 << cluster_bits
        self.size = size
        self.l2_entries = self.cs // 8
        clusters = (size + self.cs - 1) // self.cs
        self.l1_size = (clusters + self.l2_entries - 1) // self.l2_entries
        self.l2 = {}  # l1 index -> bytearray table
        self.end = self.cs  # header cluster
        self.l1_offset = self.alloc((self.l1_size * 8 + self.cs - 1) // self.cs)

    def alloc(self, n):
        off = self.end
        self.end += n * self.cs
        return off

    def entry(self, guest_cluster, value):
        i1, i2 = divmod(guest_cluster, self.l2_entries)
        t = self.l2.get(i1)
        if t is None:
            t = self.l2[i1] = [self.alloc(1), bytearray(self.cs)]
        struct.pack_into(">Q", t[1], i2 * 8, value)

    def data(self, guest_cluster, payload, host=None):
        if host is None:
            host = self.alloc(1)
        self.f.seek(host)
        self.f.write(payload)
        self.entry(guest_cluster, L2_COPIED | host)
        return host

    def zero(self, guest_cluster):
        self.entry(guest_cluster, L2_ZERO)

    def compressed(self, guest_cluster, stream, host):
        # The descriptor counts 512-byte sectors after the first.
        assert len(stream) <= 512 and host % 512 == 0
        shift = 62 - (self.cb - 8)
        self.f.seek(host)
        self.f.write(stream)
        self.entry(guest_cluster, L2_COMPRESSED | (0 << shift) | host)

    def close(self):
        l1 = bytearray(self.l1_size * 8)
        for i1, (off, table) in self.l2.items():
            struct.pack_into(">Q", l1, i1 * 8, L2_COPIED | off)
            self.f.seek(off)
            self.f.write(table)
        self.f.seek(self.l1_offset)
        self.f.write(l1)
        # Refcounts of 16 bits: every cluster up to the end, then the
        # refcount blocks and table themselves (found by iteration).
        per_block = self.cs // 2
        used = self.end // self.cs
        blocks = table_clusters = 1
        while True:
            total = used + blocks + table_clusters
            nb = (total + per_block - 1) // per_block
            nt = (nb * 8 + self.cs - 1) // self.cs
            if nb == blocks and nt == table_clusters:
                break
            blocks, table_clusters = nb, nt
        rt_off = self.alloc(table_clusters)
        rb_off = self.alloc(blocks)
        total = self.end // self.cs
        table = bytearray(table_clusters * self.cs)
        for b in range(blocks):
            struct.pack_into(">Q", table, b * 8, rb_off + b * self.cs)
        self.f.seek(rt_off)
        self.f.write(table)
        ones = struct.pack(">H", 1)
        block_data = bytearray(blocks * self.cs)
        block_data[: total * 2] = ones * total
        self.f.seek(rb_off)
        self.f.write(block_data)
        hdr = struct.pack(
            ">IIQIIQIIQQIIQQQQII",
            MAGIC, 3, 0, 0, self.cb, self.size, 0, self.l1_size, self.l1_offset,
            rt_off, table_clusters, 0, 0, 0, 0, 0, 4, 104)
        self.f.seek(0)
        self.f.write(hdr + struct.pack(">II", 0, 0))  # end of extensions
        self.f.truncate(self.end)
        self.f.close()


def alternating(path, size_mib):
    img = Image(path, 9, size_mib << 20)
    clusters = (size_mib << 20) // 512
    # Every L2 table first, then the data clusters packed behind them.
    tables = (clusters + img.l2_entries - 1) // img.l2_entries
    for t in range(tables):
        img.entry(t * img.l2_entries, 0)
    start = img.alloc(clusters // 2)
    per = img.l2_entries
    for t in range(tables):
        host = start + t * (per // 2) * 512
        values = []
        for k in range(per // 2):
            values += [L2_COPIED | (host + k * 512), L2_ZERO]
        img.l2[t][1][:] = struct.pack(">%dQ" % per, *values)
    img.f.seek(start)
    chunk = b"\x5a" * (1 << 20)
    left = clusters // 2 * 512
    while left:
        img.f.write(chunk[: min(left, len(chunk))])
        left -= min(left, len(chunk))
    img.close()


def sparse_compressed(path, compressed_mib):
    n = (compressed_mib << 20) // 512  # compressed clusters
    size = n * 128 * 512
    img = Image(path, 9, size)
    # The L1/L2 tables first, so that streams and filler follow them.
    for c in range(0, size // 512, img.l2_entries):
        img.entry(c, 0)
    co = zlib.compressobj(9, zlib.DEFLATED, -12)
    stream = co.compress(b"\x33" * 512) + co.flush()
    assert len(stream) <= 512
    block = stream.ljust(512, b"\0") + b"\xa5" * (127 * 512)
    shift = 62 - (img.cb - 8)
    guest = n
    first = img.alloc(128 * n)
    img.f.seek(first)
    for i in range(n):
        host = first + i * 128 * 512
        img.f.write(block)
        img.entry(i, L2_COMPRESSED | (0 << shift) | host)
        for k in range(1, 128):
            img.entry(guest, L2_COPIED | (host + k * 512))
            guest += 1
    img.close()


if __name__ == "__main__":
    kind, path, mib = sys.argv[1], sys.argv[2], int(sys.argv[3])
    {"alternating": alternating, "sparse-compressed": sparse_compressed}[kind](path, mib)
