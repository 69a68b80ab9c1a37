//! `[limits] max_connections`: the listener that counts open connections. Past the limit a
//! new connection is accepted and closed at once, so idle or slow sockets cannot use up the
//! process's file descriptors, while connections already open are served as before.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A TCP listener that hands out at most `max_connections` connections at a time.
pub(crate) struct CountedListener {
    tcp: TcpListener,
    permits: Arc<Semaphore>,
    /// Whether the last connection was refused: one log line a spell at the limit, not one
    /// a refused connection.
    at_limit: bool,
}

impl CountedListener {
    pub(crate) fn new(tcp: TcpListener, max_connections: usize) -> CountedListener {
        CountedListener {
            tcp,
            permits: Arc::new(Semaphore::new(max_connections)),
            at_limit: false,
        }
    }

    /// The next connection within the limit; those past it are closed as they come.
    pub(crate) async fn accept(&mut self) -> (Counted<TcpStream>, SocketAddr) {
        loop {
            let (stream, peer) = match self.tcp.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before it was taken:
                    // wait a little rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Ok(permit) = self.permits.clone().try_acquire_owned() else {
                if !self.at_limit {
                    tracing::warn!(%peer, "at max_connections: new connections are closed");
                    self.at_limit = true;
                }
                drop(stream);
                continue;
            };
            self.at_limit = false;
            // TCP_NODELAY: hyper may write an answer in more than one piece, and Nagle's
            // algorithm would hold the last one until the client acknowledges the first,
            // which a client's delayed acknowledgement puts off by up to 40 ms.
            let _ = stream.set_nodelay(true);
            return (
                Counted {
                    io: stream,
                    _permit: permit,
                },
                peer,
            );
        }
    }

    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.local_addr()
    }
}

impl axum::serve::Listener for CountedListener {
    type Io = Counted<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        CountedListener::accept(self).await
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        CountedListener::local_addr(self)
    }
}

/// A connection, holding its share of `max_connections` until it is dropped.
pub(crate) struct Counted<T> {
    io: T,
    _permit: OwnedSemaphorePermit,
}

impl<T: AsyncRead + Unpin> AsyncRead for Counted<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Counted<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
