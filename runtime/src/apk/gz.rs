//! One gzip member with fixed header bytes (no name, MTIME 0, OS 255) and a
//! pinned DEFLATE implementation and level, so equal input gives equal
//! bytes on every machine. The parallel encoder is ours for the same
//! reason: its output depends only on the input, never on the thread count.

use std::io::Write;

use flate2::{Compression, GzBuilder};

pub fn member(data: &[u8]) -> Vec<u8> {
    let mut gz = GzBuilder::new()
        .mtime(0)
        .write(Vec::with_capacity(data.len() / 3 + 64), Compression::new(6));
    gz.write_all(data).expect("writing to memory");
    gz.finish().expect("writing to memory")
}

/// Input split into blocks of this size, each compressed on its own.
const BLOCK: usize = 1 << 20;

/// A gzip member compressed on every core, still byte-reproducible: the
/// input is cut into fixed 1 MiB blocks, each deflated independently and
/// ended with a sync flush (the last one with the final block), so the
/// output depends only on the input, never on scheduling. Costs a little
/// ratio, as pigz does without its dictionary carry-over.
pub struct ParallelEncoder<W: Write> {
    out: W,
    pending: Vec<Vec<u8>>,
    current: Vec<u8>,
    crc: flate2::Crc,
    threads: usize,
}

impl<W: Write> ParallelEncoder<W> {
    pub fn new(mut out: W) -> std::io::Result<ParallelEncoder<W>> {
        // ID, deflate, no flags, MTIME 0, XFL 0, OS 255: as `member` writes.
        out.write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff])?;
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        Ok(ParallelEncoder {
            out,
            pending: Vec::new(),
            current: Vec::with_capacity(BLOCK),
            crc: flate2::Crc::new(),
            threads,
        })
    }

    fn compress_pending(&mut self, last: bool) -> std::io::Result<()> {
        let blocks = std::mem::take(&mut self.pending);
        let n = blocks.len();
        let compressed: Vec<Vec<u8>> = std::thread::scope(|s| {
            let handles: Vec<_> = blocks
                .iter()
                .enumerate()
                .map(|(i, block)| {
                    let finish = last && i + 1 == n;
                    s.spawn(move || deflate_block(block, finish))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("compressor"))
                .collect()
        });
        for c in compressed {
            self.out.write_all(&c)?;
        }
        Ok(())
    }

    pub fn finish(mut self) -> std::io::Result<W> {
        let tail = std::mem::take(&mut self.current);
        self.pending.push(tail);
        self.compress_pending(true)?;
        let mut trailer = [0u8; 8];
        trailer[..4].copy_from_slice(&self.crc.sum().to_le_bytes());
        trailer[4..].copy_from_slice(&self.crc.amount().to_le_bytes());
        self.out.write_all(&trailer)?;
        Ok(self.out)
    }
}

fn deflate_block(block: &[u8], finish: bool) -> Vec<u8> {
    let mut c = flate2::Compress::new(Compression::new(6), false);
    // Room for the worst case (stored blocks cost 5 bytes per 64 KiB), so
    // one call normally takes the whole block and completes its flush.
    let mut out = Vec::with_capacity(block.len() + block.len() / 64 + 4096);
    let flush = if finish {
        flate2::FlushCompress::Finish
    } else {
        flate2::FlushCompress::Sync
    };
    loop {
        let consumed = c.total_in() as usize;
        if out.capacity() - out.len() < 4096 {
            out.reserve(out.capacity().max(4096));
        }
        let status = c
            .compress_vec(&block[consumed..], &mut out, flush)
            .expect("deflate in memory");
        let done_input = c.total_in() as usize == block.len();
        match status {
            flate2::Status::StreamEnd => break,
            // The compressor may stop with output space left before it has
            // taken all the input or completed the flush (a 1 MiB block of
            // compiler binary did): only a call that takes everything and
            // ends with the sync marker, 00 00 ff ff, is done.
            _ if done_input && !finish && out.ends_with(&[0, 0, 0xff, 0xff]) => break,
            _ => {}
        }
    }
    out
}

impl<W: Write> Write for ParallelEncoder<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let room = BLOCK - self.current.len();
        let n = room.min(buf.len());
        self.current.extend_from_slice(&buf[..n]);
        self.crc.update(&buf[..n]);
        if self.current.len() == BLOCK {
            let full = std::mem::replace(&mut self.current, Vec::with_capacity(BLOCK));
            self.pending.push(full);
            if self.pending.len() >= self.threads {
                self.compress_pending(false)?;
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn parallel_members_decode_and_repeat() {
        let data: Vec<u8> = (0..3_500_000u32)
            .map(|i| (i % 251) as u8 ^ (i / 7919) as u8)
            .collect();
        let mut a = ParallelEncoder::new(Vec::new()).unwrap();
        // Uneven writes: the output must not depend on them.
        for chunk in data.chunks(77_777) {
            a.write_all(chunk).unwrap();
        }
        let a = a.finish().unwrap();
        let mut b = ParallelEncoder::new(Vec::new()).unwrap();
        b.write_all(&data).unwrap();
        let b = b.finish().unwrap();
        assert_eq!(a, b);
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&a[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
        assert_eq!(
            &a[..10],
            &member(b"")[..10],
            "same header as single-threaded members"
        );
        let empty = ParallelEncoder::new(Vec::new()).unwrap().finish().unwrap();
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&empty[..])
            .read_to_end(&mut back)
            .unwrap();
        assert!(back.is_empty());
    }

    #[test]
    fn poorly_compressible_blocks_decode() {
        // Machine code (this test binary's own) compresses to about half: a
        // block's output then outgrows a half-size buffer mid-flush, which
        // once lost bytes.
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let data = &exe[..exe.len().min(4 * BLOCK)];
        for block in data.chunks(BLOCK) {
            let c = deflate_block(block, false);
            let mut d = flate2::Decompress::new(false);
            let mut back = Vec::with_capacity(block.len() + 1);
            d.decompress_vec(&c, &mut back, flate2::FlushDecompress::Sync)
                .unwrap();
            assert_eq!(back.len(), block.len());
            assert!(back == block);
        }
        let mut e = ParallelEncoder::new(Vec::new()).unwrap();
        e.write_all(data).unwrap();
        let gz = e.finish().unwrap();
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut back)
            .unwrap();
        assert!(back == data);
    }
}
