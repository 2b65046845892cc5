//! Input in large blocks of checked text, read (and checked as UTF-8) either
//! in line ([`Plain`], the next block on request while other threads
//! translate: [`Blocks::prefetch`]) or ahead on a thread of its own
//! ([`ReadAhead`]), so that reading a file overlaps translating it.
//!
//! Each text block starts with [`GAP`] spaces: the reader puts the unfinished
//! end of the block before (the start of an event cut by the block's end)
//! into that gap, right before the new text, so that a block becomes the
//! next window without being copied. Text is read straight into the block
//! and checked there: one copy of each byte, by the read call itself.

use std::io::{self, Read};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// Spaces at the start of every text block.
pub(crate) const GAP: usize = 64 << 10;

/// Bytes read into a block (after its gap): four default batches (a batch
/// is a slice of a block; fewer, larger reads).
const BLOCK: usize = 4 * crate::writer::DEFAULT_BATCH_BYTES;

/// Blocks read ahead at most (memory held: about `DEPTH + 3` blocks).
const DEPTH: usize = 1;

/// A block of input.
#[derive(Debug)]
pub enum Block {
    /// [`GAP`] spaces, then text (valid UTF-8 ending on a whole character).
    Text(String),
    /// Bytes from the first invalid UTF-8 sequence on: from there on, every
    /// block is raw.
    Raw(Vec<u8>),
}

/// Only this module's sources make blocks: a text block's gap and its
/// whole characters are a contract the reader relies on.
mod sealed {
    pub trait Sealed {}
}

/// A source of input blocks, in order ([`Plain`], [`ReadAhead`]; sealed).
pub trait Blocks: sealed::Sealed {
    /// The next block, `None` at the end of the input. An error of the
    /// underlying reader comes after the blocks read before it.
    fn next_block(&mut self) -> io::Result<Option<Block>>;

    /// Hand back a block's buffer once its text is used, to be filled again.
    fn recycle(&mut self, buf: Vec<u8>);

    /// The input's length in bytes, when known before reading it (a file).
    fn size(&self) -> Option<u64> {
        None
    }

    /// Read the next block now, on the calling thread, unless one is
    /// waiting already: [`next_block`](Self::next_block) then hands it out
    /// without reading. The translator calls this while other threads work
    /// on the current batch. Sources that read on a thread of their own
    /// ignore it.
    fn prefetch(&mut self) {}
}

impl<R> sealed::Sealed for Plain<R> {}
impl sealed::Sealed for ReadAhead {}
impl<B: Blocks + ?Sized> sealed::Sealed for Box<B> {}

impl<B: Blocks + ?Sized> Blocks for Box<B> {
    fn next_block(&mut self) -> io::Result<Option<Block>> {
        (**self).next_block()
    }

    fn recycle(&mut self, buf: Vec<u8>) {
        (**self).recycle(buf);
    }

    fn size(&self) -> Option<u64> {
        (**self).size()
    }

    fn prefetch(&mut self) {
        (**self).prefetch();
    }
}

/// Fills blocks from a reader, carrying a character cut by a block's end
/// over to the next block.
struct Filler<R> {
    r: R,
    block: usize,
    /// The size of the first block, if not `block`.
    first: Option<usize>,
    /// The start of a character cut by the last block's end.
    carry: Vec<u8>,
    /// Bytes after an invalid sequence, not handed out yet.
    raw_next: Option<Vec<u8>>,
    /// A read error, handed out after the bytes read before it.
    error: Option<io::Error>,
    broken: bool,
    eof: bool,
}

impl<R: Read> Filler<R> {
    fn new(r: R, block: usize) -> Self {
        Filler {
            r,
            block,
            first: None,
            carry: Vec::new(),
            raw_next: None,
            error: None,
            broken: false,
            eof: false,
        }
    }

    /// Read into `v[from..]` until full, the end of the input or an error
    /// (kept for the next call). Returns the bytes in `v`.
    fn read_into(&mut self, v: &mut [u8], from: usize) -> usize {
        let mut n = from;
        while n < v.len() {
            match self.r.read(&mut v[n..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.error = Some(e);
                    break;
                }
            }
        }
        n
    }

    /// The next block, filled in `v` (a spare buffer, or empty).
    fn fill(&mut self, mut v: Vec<u8>) -> io::Result<Option<Block>> {
        if let Some(raw) = self.raw_next.take() {
            return Ok(Some(Block::Raw(raw)));
        }
        if let Some(e) = self.error.take() {
            self.eof = true;
            return Err(e);
        }
        if self.eof {
            // A character cut by the end of the input is invalid.
            return Ok((!self.carry.is_empty()).then(|| {
                self.broken = true;
                Block::Raw(std::mem::take(&mut self.carry))
            }));
        }
        if self.broken {
            if v.capacity() < self.block {
                v = vec![0; self.block];
            }
            v.resize(self.block, 0);
            let n = self.read_into(&mut v, 0);
            v.truncate(n);
            return if n == 0 {
                self.fill(v)
            } else {
                Ok(Some(Block::Raw(v)))
            };
        }
        // Buffers come back at the length they were used at; only what was
        // not used before is zeroed (a new one comes zeroed from the system).
        // Room for the carried bytes and a whole block: every block reads.
        let carried = self.carry.len();
        let len = GAP + carried + self.first.take().unwrap_or(self.block);
        if v.capacity() < len {
            v = vec![0; len];
        }
        v.resize(len, 0);
        v[..GAP].fill(b' ');
        v[GAP..GAP + carried].copy_from_slice(&self.carry);
        self.carry.clear();
        let n = self.read_into(&mut v, GAP + carried);
        v.truncate(n);
        if n == GAP {
            return self.fill(v);
        }
        match String::from_utf8(v) {
            Ok(s) => Ok(Some(Block::Text(s))),
            Err(e) => {
                let valid = e.utf8_error().valid_up_to();
                let cut_char = e.utf8_error().error_len().is_none() && !self.eof;
                let mut v = e.into_bytes();
                let rest = v.split_off(valid);
                if cut_char {
                    self.carry = rest;
                } else {
                    self.raw_next = Some(rest);
                    self.broken = true;
                }
                match String::from_utf8(v) {
                    Ok(s) if s.len() > GAP => Ok(Some(Block::Text(s))),
                    // Nothing valid before the cut or the invalid sequence.
                    _ => self.fill(Vec::new()),
                }
            }
        }
    }
}

/// Blocks read from a reader in line, when asked for.
pub struct Plain<R> {
    filler: Filler<R>,
    spare: Option<Vec<u8>>,
    /// A block read by [`Blocks::prefetch`], not handed out yet.
    ahead: Option<io::Result<Option<Block>>>,
    size: Option<u64>,
}

impl<R: Read> Plain<R> {
    pub fn new(r: R) -> Self {
        Self::with_block(r, BLOCK)
    }

    /// Blocks of `block` bytes (at least 1) instead of the default.
    pub fn with_block(r: R, block: usize) -> Self {
        Plain {
            filler: Filler::new(r, block.max(1)),
            spare: None,
            ahead: None,
            size: None,
        }
    }

    fn read_block(&mut self) -> io::Result<Option<Block>> {
        let v = self.spare.take().unwrap_or_default();
        self.filler.fill(v)
    }
}

impl Plain<std::fs::File> {
    /// A file in blocks of `block` bytes (a batch), read on the translating
    /// thread between batches or by [`Blocks::prefetch`] while other threads
    /// translate: the source for translating on several threads, where a
    /// reading thread of its own would compete with them for the CPUs
    /// ([`open_file`]).
    pub fn of_file(f: std::fs::File, block: usize) -> Plain<std::fs::File> {
        let size = file_size(&f);
        Self::sized(f, block, size)
    }

    /// [`Plain::of_file`] for a file whose length is known already.
    fn sized(f: std::fs::File, block: usize, size: Option<u64>) -> Plain<std::fs::File> {
        let mut p = Plain::with_block(f, block);
        p.size = size;
        p
    }
}

impl<R: Read> Blocks for Plain<R> {
    fn next_block(&mut self) -> io::Result<Option<Block>> {
        match self.ahead.take() {
            Some(b) => b,
            None => self.read_block(),
        }
    }

    fn recycle(&mut self, buf: Vec<u8>) {
        self.spare = Some(buf);
    }

    fn size(&self) -> Option<u64> {
        self.size
    }

    fn prefetch(&mut self) {
        if self.ahead.is_none() {
            self.ahead = Some(self.read_block());
        }
    }
}

/// The length of a regular file (`None` for pipes and devices).
fn file_size(f: &std::fs::File) -> Option<u64> {
    f.metadata()
        .ok()
        .filter(std::fs::Metadata::is_file)
        .map(|m| m.len())
}

/// Blocks of a file translated on one thread because it is small
/// ([`crate::reader::small_input`]).
const SMALL_FILE_BLOCK: usize = 256 << 10;

/// The blocks of a file for a translation with `config`: read a batch at a
/// time on the translating thread ([`Plain::of_file`]) when several
/// threads translate, else ahead on a thread of its own ([`ReadAhead`]),
/// which then has a CPU to itself. A file too small for several threads is
/// read in line in smaller blocks, as the events need them (two buffers
/// take turns).
pub fn open_file(f: std::fs::File, config: &crate::Config) -> io::Result<Box<dyn Blocks + Send>> {
    let batch = config.batch_bytes.max(1);
    // Asked once: the blocks keep it for the reader's rule.
    let size = file_size(&f);
    let small = size.is_some_and(|n| crate::reader::small_input(n, batch));
    Ok(if config.threads_used() > 1 || small {
        let block = if small {
            SMALL_FILE_BLOCK.min(batch)
        } else {
            batch
        };
        Box::new(Plain::sized(f, block, size))
    } else {
        Box::new(ReadAhead::start(f, BLOCK, Some(batch), size)?)
    })
}

/// Blocks read ahead by a thread of its own. Dropping it stops the thread
/// after its current read.
pub struct ReadAhead {
    blocks: Receiver<io::Result<Block>>,
    /// Used buffers, sent back to be filled again.
    spare: SyncSender<Vec<u8>>,
    done: bool,
    size: Option<u64>,
}

impl ReadAhead {
    /// Start reading `r` on a new thread.
    pub fn new<R: Read + Send + 'static>(r: R) -> io::Result<ReadAhead> {
        Self::with_block(r, BLOCK)
    }

    /// Start reading a file on a new thread. Its length is known before it
    /// is read, and its first block is one batch of `batch` bytes:
    /// translating starts once that is read, not a whole block (on 100,000
    /// events the first 15 ms had only the reading thread running).
    pub fn of_file(f: std::fs::File, batch: usize) -> io::Result<ReadAhead> {
        let size = file_size(&f);
        Self::start(f, BLOCK, Some(batch), size)
    }

    /// Blocks of `block` bytes (at least 1) instead of the default.
    pub fn with_block<R: Read + Send + 'static>(r: R, block: usize) -> io::Result<ReadAhead> {
        Self::start(r, block, None, None)
    }

    /// Blocks of `block` bytes, the first of `first` if given, from an input
    /// of `size` bytes if known.
    fn start<R: Read + Send + 'static>(
        r: R,
        block: usize,
        first: Option<usize>,
        size: Option<u64>,
    ) -> io::Result<ReadAhead> {
        let block = block.max(1);
        let (tx, blocks) = sync_channel::<io::Result<Block>>(DEPTH);
        let (spare, spares) = sync_channel::<Vec<u8>>(DEPTH + 2);
        let mut filler = Filler::new(r, block);
        filler.first = first.map(|f| f.max(1));
        std::thread::Builder::new()
            .name("stixshift-read".into())
            .spawn(move || loop {
                let v = spares.try_recv().unwrap_or_default();
                let (next, last) = match filler.fill(v) {
                    Ok(Some(b)) => (Ok(b), false),
                    Ok(None) => return,
                    Err(e) => (Err(e), true),
                };
                if tx.send(next).is_err() || last {
                    return;
                }
            })?;
        Ok(ReadAhead {
            blocks,
            spare,
            done: false,
            size,
        })
    }
}

impl Blocks for ReadAhead {
    fn next_block(&mut self) -> io::Result<Option<Block>> {
        if self.done {
            return Ok(None);
        }
        match self.blocks.recv() {
            Ok(Ok(b)) => Ok(Some(b)),
            Ok(Err(e)) => {
                self.done = true;
                Err(e)
            }
            // The thread has finished: end of input.
            Err(_) => {
                self.done = true;
                Ok(None)
            }
        }
    }

    fn recycle(&mut self, buf: Vec<u8>) {
        let _ = self.spare.try_send(buf);
    }

    fn size(&self) -> Option<u64> {
        self.size
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

    /// Every block in order, recycled as a reader does: the text after the
    /// gaps, then the raw bytes; the error, if any.
    fn drain(mut b: impl Blocks) -> (Vec<u8>, Vec<u8>, Option<io::Error>, usize) {
        let (mut text, mut raw, mut blocks) = (Vec::new(), Vec::new(), 0);
        loop {
            match b.next_block() {
                Ok(None) => return (text, raw, None, blocks),
                Ok(Some(Block::Text(s))) => {
                    assert!(raw.is_empty(), "text after raw bytes");
                    assert!(s.as_bytes()[..GAP].iter().all(|&c| c == b' '));
                    assert!(s.len() > GAP, "an empty block");
                    text.extend_from_slice(&s.as_bytes()[GAP..]);
                    // Garbage in the gap, as the reader leaves it.
                    let mut v = s.into_bytes();
                    v[..GAP].fill(b'x');
                    b.recycle(v);
                }
                Ok(Some(Block::Raw(v))) => {
                    raw.extend_from_slice(&v);
                    b.recycle(v);
                }
                Err(e) => return (text, raw, Some(e), blocks),
            }
            blocks += 1;
        }
    }

    /// The text blocks' sizes (after the gap) and their text, in order,
    /// each recycled as the reader does.
    fn text_blocks(b: &mut dyn Blocks) -> (Vec<usize>, Vec<u8>) {
        let (mut sizes, mut text) = (Vec::new(), Vec::new());
        while let Some(Block::Text(s)) = b.next_block().unwrap() {
            sizes.push(s.len() - GAP);
            text.extend_from_slice(&s.as_bytes()[GAP..]);
            b.recycle(s.into_bytes());
        }
        (sizes, text)
    }

    #[test]
    fn passes_every_byte_in_order_in_blocks() {
        let block = 1000;
        for len in [0, 1, block - 1, block, block + 1, 3 * block + 17] {
            let data: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            let (text, raw, err, blocks) =
                drain(ReadAhead::with_block(io::Cursor::new(data.clone()), block).unwrap());
            assert!(err.is_none() && raw.is_empty());
            assert!(text == data, "len {len}");
            assert_eq!(blocks, len.div_ceil(block), "len {len}");
            let (text, ..) = drain(Plain::with_block(
                Trickle {
                    data: data.clone(),
                    pos: 0,
                    fail_at: None,
                },
                block,
            ));
            assert!(text == data, "len {len}");
        }
    }

    /// Reading the next block ahead of asking for it, once or more, changes
    /// nothing: every byte in order, an error after the bytes before it.
    #[test]
    fn prefetched_blocks_come_in_order() {
        /// Prefetches `n` times before each block.
        struct Eager<B>(B, usize);
        impl<B> sealed::Sealed for Eager<B> {}
        impl<B: Blocks> Blocks for Eager<B> {
            fn next_block(&mut self) -> io::Result<Option<Block>> {
                for _ in 0..self.1 {
                    self.0.prefetch();
                }
                self.0.next_block()
            }
            fn recycle(&mut self, buf: Vec<u8>) {
                self.0.recycle(buf);
            }
        }
        let trickle = |data: &[u8], fail_at| Trickle {
            data: data.to_vec(),
            pos: 0,
            fail_at,
        };
        let block = 1000;
        for n in [1, 2] {
            for len in [0, 1, block, 3 * block + 17] {
                let data: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
                let (text, raw, err, blocks) =
                    drain(Eager(Plain::with_block(trickle(&data, None), block), n));
                assert!(err.is_none() && raw.is_empty());
                assert!(text == data, "len {len}");
                assert_eq!(blocks, len.div_ceil(block), "len {len}");
            }
            let (text, _, err, _) = drain(Eager(
                Plain::with_block(trickle(&[b'x'; 5000], Some(3000)), 7 * 150),
                n,
            ));
            assert_eq!(err.unwrap().to_string(), "disk on fire");
            assert_eq!(text.len(), 3003);
        }
    }

    /// A file: its length known before reading, its first block one batch,
    /// the next ones whole blocks, every byte in order.
    #[test]
    fn a_file_has_its_size_and_a_small_first_block() {
        let batch = crate::writer::DEFAULT_BATCH_BYTES;
        let data: Vec<u8> = (0..BLOCK + 3 * batch + 5)
            .map(|i| b'a' + (i % 26) as u8)
            .collect();
        let path = std::env::temp_dir().join(format!("stixshift-readahead-{}", std::process::id()));
        std::fs::write(&path, &data).unwrap();
        let mut r = ReadAhead::of_file(std::fs::File::open(&path).unwrap(), batch).unwrap();
        assert_eq!(r.size(), Some(data.len() as u64));
        let (sizes, text) = text_blocks(&mut r);
        assert!(text == data);
        assert_eq!(sizes, [batch, BLOCK, 2 * batch + 5]);
        // Read in line: the same size, and blocks of one batch.
        let mut p = Plain::of_file(std::fs::File::open(&path).unwrap(), batch);
        assert_eq!(p.size(), Some(data.len() as u64));
        let (sizes, text) = text_blocks(&mut p);
        std::fs::remove_file(&path).unwrap();
        assert!(text == data);
        assert_eq!(sizes, [batch, batch, batch, batch, batch, batch, batch, 5]);
        // Not a file: no size.
        assert_eq!(ReadAhead::new(&b"[]"[..]).unwrap().size(), None);
    }

    /// `open_file`: a small file in small blocks read in line; a large one
    /// a batch at a time in line for several threads, else read ahead (a
    /// first block of one batch, then whole blocks).
    #[test]
    fn open_file_picks_blocks_by_size_and_threads() {
        let batch = crate::writer::DEFAULT_BATCH_BYTES;
        let sizes_with = |len: usize, threads: usize, batch_bytes: usize| {
            let data: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            let path = std::env::temp_dir().join(format!(
                "stixshift-open-{}-{len}-{threads}-{batch_bytes}",
                std::process::id()
            ));
            std::fs::write(&path, &data).unwrap();
            let config = crate::Config {
                threads,
                batch_bytes,
                ..crate::Config::default()
            };
            let mut b = open_file(std::fs::File::open(&path).unwrap(), &config).unwrap();
            assert_eq!(b.size(), Some(len as u64));
            let (sizes, text) = text_blocks(&mut *b);
            std::fs::remove_file(&path).unwrap();
            assert!(text == data);
            sizes
        };
        let sizes_of = |len: usize, threads: usize| sizes_with(len, threads, batch);
        let small = SMALL_FILE_BLOCK + 5;
        assert_eq!(sizes_of(small, 2), [SMALL_FILE_BLOCK, 5]);
        assert_eq!(sizes_of(small, 1), [SMALL_FILE_BLOCK, 5]);
        let large = 4 * batch + 5;
        assert!(!crate::reader::small_input(large as u64, batch));
        assert!(crate::reader::small_input(small as u64, batch));
        assert_eq!(sizes_of(large, 2), [batch, batch, batch, batch, 5]);
        // Read ahead: one batch, then the rest (less than a whole block).
        assert!(large - batch < BLOCK);
        assert_eq!(sizes_of(large, 1), [batch, large - batch]);
        // The first block read ahead is the translation's batch.
        let batch = 64 << 10;
        assert!(!crate::reader::small_input(large as u64, batch));
        assert_eq!(sizes_with(large, 1, batch), [batch, large - batch]);
    }

    #[test]
    fn a_character_cut_by_a_block_end_goes_whole_into_the_next() {
        // `é` (2 bytes) and `€` (3 bytes) across every block boundary.
        let data = "aé€".repeat(500);
        for block in [7, 8, 9, 10, 64] {
            let (text, raw, err, _) = drain(Plain::with_block(data.as_bytes(), block));
            assert!(err.is_none() && raw.is_empty(), "block {block}");
            assert_eq!(String::from_utf8(text).unwrap(), data, "block {block}");
        }
    }

    #[test]
    fn invalid_utf8_turns_the_rest_raw() {
        let mut data = b"abc".repeat(100);
        data.extend_from_slice(b"\xff\xfe");
        data.extend(b"x".repeat(50));
        let (text, raw, err, _) = drain(Plain::with_block(&data[..], 64));
        assert!(err.is_none());
        assert_eq!(text.len(), 300);
        assert_eq!(&raw[..2], b"\xff\xfe");
        assert_eq!([text, raw].concat(), data);
        // A character cut by the end of the input is invalid too.
        let (text, raw, ..) = drain(Plain::with_block(&b"ab\xe2\x82"[..], 64));
        assert_eq!((&text[..], &raw[..]), (&b"ab"[..], &b"\xe2\x82"[..]));
        // Invalid from the first byte: no text block at all.
        let (text, raw, ..) = drain(Plain::with_block(&b"\xffabc"[..], 2));
        assert!(text.is_empty());
        assert_eq!(raw, b"\xffabc");
    }

    #[test]
    fn passes_errors_after_the_bytes_before_them() {
        let data = vec![b'x'; 5000];
        let (text, _, err, _) = drain(
            ReadAhead::with_block(
                Trickle {
                    data,
                    pos: 0,
                    fail_at: Some(3000),
                },
                // A multiple of 7: every read hands out 7 bytes, the last
                // ones before the failure ending at 3003.
                7 * 150,
            )
            .unwrap(),
        );
        assert_eq!(err.unwrap().to_string(), "disk on fire");
        assert_eq!(text.len(), 3003);
    }
}
