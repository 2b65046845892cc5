//! The per-connection I/O wrapper that lets a handler reset its connection.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Shared between a connection's I/O and the requests it carries (as a
/// request extension).
#[derive(Debug, Clone)]
pub(crate) struct ConnControl {
    reset: Arc<AtomicBool>,
    /// Counts completed flushes, so a body can wait until what it handed to
    /// hyper has reached the socket.
    flushes: Arc<tokio::sync::watch::Sender<u64>>,
}

impl Default for ConnControl {
    fn default() -> Self {
        ConnControl {
            reset: Arc::default(),
            flushes: Arc::new(tokio::sync::watch::channel(0).0),
        }
    }
}

impl ConnControl {
    /// From now on the connection fails every write and closes with RST.
    pub(crate) fn reset(&self) {
        self.reset.store(true, Ordering::SeqCst);
    }

    fn is_reset(&self) -> bool {
        self.reset.load(Ordering::SeqCst)
    }

    /// A receiver of the flush count.
    pub(crate) fn flushes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.flushes.subscribe()
    }
}

pub(crate) struct ResetIo {
    inner: TcpStream,
    ctl: ConnControl,
    lingered: bool,
}

impl ResetIo {
    pub(crate) fn new(inner: TcpStream, ctl: ConnControl) -> Self {
        ResetIo {
            inner,
            ctl,
            lingered: false,
        }
    }

    fn check(&mut self) -> io::Result<()> {
        if !self.ctl.is_reset() {
            return Ok(());
        }
        if !self.lingered {
            self.lingered = true;
            // SO_LINGER 0: closing the socket sends RST instead of FIN.
            let _ = socket2::SockRef::from(&self.inner).set_linger(Some(Duration::ZERO));
        }
        Err(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "connection reset (simulated fault)",
        ))
    }
}

impl AsyncRead for ResetIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Err(e) = self.check() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResetIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Err(e) = self.check() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Err(e) = self.check() {
            return Poll::Ready(Err(e));
        }
        let r = Pin::new(&mut self.inner).poll_flush(cx);
        if let Poll::Ready(Ok(())) = r {
            self.ctl.flushes.send_modify(|n| *n += 1);
        }
        r
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Err(e) = self.check() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if let Err(e) = self.check() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
