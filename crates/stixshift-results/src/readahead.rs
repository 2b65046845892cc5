//! Reading ahead on another thread, so that the read system calls (a tenth
//! of the time of a large translation here) overlap translating.

use std::io::{self, Read};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// Bytes read at a time by the reading thread.
const BLOCK: usize = 1 << 20;

/// Blocks read ahead at most (memory held: `DEPTH + 2` blocks).
const DEPTH: usize = 4;

/// A [`Read`] whose reads are done ahead by a thread of its own. Errors of
/// the underlying reader are passed on in order; dropping it stops the
/// thread after its current read.
pub struct ReadAhead {
    blocks: Receiver<io::Result<Vec<u8>>>,
    /// Emptied blocks, sent back to be filled again.
    spare: SyncSender<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
    done: bool,
}

impl ReadAhead {
    /// Start reading `r` on a new thread.
    pub fn new<R: Read + Send + 'static>(mut r: R) -> io::Result<ReadAhead> {
        let (tx, blocks) = sync_channel::<io::Result<Vec<u8>>>(DEPTH);
        let (spare, spares) = sync_channel::<Vec<u8>>(DEPTH + 2);
        std::thread::Builder::new()
            .name("stixshift-read".into())
            .spawn(move || loop {
                let mut buf = spares.try_recv().unwrap_or_default();
                buf.resize(BLOCK, 0);
                let mut n = 0;
                let failed = loop {
                    if n == BLOCK {
                        break None;
                    }
                    match r.read(&mut buf[n..]) {
                        Ok(0) => break None,
                        Ok(k) => n += k,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => break Some(e),
                    }
                };
                buf.truncate(n);
                let end = n < BLOCK || failed.is_some();
                if n > 0 && tx.send(Ok(buf)).is_err() {
                    return;
                }
                if let Some(e) = failed {
                    let _ = tx.send(Err(e));
                    return;
                }
                if end {
                    return;
                }
            })?;
        Ok(ReadAhead {
            blocks,
            spare,
            current: Vec::new(),
            pos: 0,
            done: false,
        })
    }
}

impl Read for ReadAhead {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.current.len() {
            if self.done {
                return Ok(0);
            }
            match self.blocks.recv() {
                Ok(Ok(block)) => {
                    let old = std::mem::replace(&mut self.current, block);
                    let _ = self.spare.try_send(old);
                    self.pos = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                // The thread has finished: end of input.
                Err(_) => self.done = true,
            }
        }
        let n = out.len().min(self.current.len() - self.pos);
        out[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out a few bytes per call, then fails or ends.
    struct Trickle {
        data: Vec<u8>,
        pos: usize,
        fail_at: Option<usize>,
    }

    impl Read for Trickle {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.fail_at.is_some_and(|f| self.pos >= f) {
                return Err(io::Error::other("disk on fire"));
            }
            let n = out.len().min(7).min(self.data.len() - self.pos);
            out[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    #[test]
    fn passes_every_byte_in_order() {
        for len in [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 17] {
            let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            let mut r = ReadAhead::new(io::Cursor::new(data.clone())).unwrap();
            let mut got = Vec::new();
            r.read_to_end(&mut got).unwrap();
            assert_eq!(got.len(), data.len());
            assert!(got == data, "len {len}");
        }
        let data: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
        let mut r = ReadAhead::new(Trickle {
            data: data.clone(),
            pos: 0,
            fail_at: None,
        })
        .unwrap();
        let mut got = Vec::new();
        r.read_to_end(&mut got).unwrap();
        assert!(got == data);
    }

    #[test]
    fn passes_errors_after_the_bytes_before_them() {
        let data = vec![b'x'; 5000];
        let mut r = ReadAhead::new(Trickle {
            data,
            pos: 0,
            fail_at: Some(3000),
        })
        .unwrap();
        let mut got = Vec::new();
        let err = r.read_to_end(&mut got).unwrap_err();
        assert_eq!(err.to_string(), "disk on fire");
        assert_eq!(got.len(), 3003);
    }
}
