//! The listener `run` serves on: TCP connections whose *parse-error* answers are rewritten into the
//! API's JSON error shape. hyper answers a request it cannot parse by itself, before any router
//! sees it — `400` (bad method, URI, header or version), `414` (a URI over 64 KiB), `431` (headers
//! too large) — with an empty body. [`JsonErrors`] recognizes such an answer (one of those statuses
//! with `content-length: 0`, which the router never sends: its errors carry a JSON body) in what
//! hyper writes and sends `{"error": {code, message, field}}` instead, then closes, as hyper would.
//! Every other write goes through untouched, vectored ones included: answers cost nothing more.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use crate::error::Code;

/// A TCP listener whose connections are [`JsonErrors`].
pub struct JsonErrorsListener(pub TcpListener);

impl axum::serve::Listener for JsonErrorsListener {
    type Io = JsonErrors<TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, addr) = axum::serve::Listener::accept(&mut self.0).await;
        (JsonErrors::new(stream), addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// A connection whose parse-error answers are rewritten (see the module).
pub struct JsonErrors<S> {
    inner: S,
    /// A rewritten answer being written, and how many of hyper's bytes it stands for.
    replacing: Option<(Vec<u8>, usize, usize)>,
}

impl<S> JsonErrors<S> {
    pub fn new(inner: S) -> Self {
        JsonErrors {
            inner,
            replacing: None,
        }
    }
}

/// The JSON answer standing for hyper's empty one in `head`, when `head` is such an answer.
pub fn rewrite(head: &[u8]) -> Option<Vec<u8>> {
    let (code, field, message) = match head.get(..13)? {
        b"HTTP/1.1 400 " => (
            Code::InvalidRequest,
            "request",
            "the request could not be parsed as HTTP",
        ),
        b"HTTP/1.1 414 " => (
            Code::UriTooLong,
            "path",
            "the URI is longer than the server accepts (64 KiB)",
        ),
        b"HTTP/1.1 431 " => (
            Code::HeadersTooLarge,
            "headers",
            "the request's headers are larger than the server accepts",
        ),
        _ => return None,
    };
    let end = head.windows(4).position(|w| w == b"\r\n\r\n")?;
    let headers = String::from_utf8_lossy(&head[..end]).to_ascii_lowercase();
    if !headers.contains("\r\ncontent-length: 0") || end + 4 != head.len() {
        return None;
    }
    let body =
        serde_json::json!({"error": {"code": code.as_str(), "message": message, "field": field}})
            .to_string();
    let status_line = String::from_utf8_lossy(&head[..head.iter().position(|b| *b == b'\r')?]);
    let answer = format!(
        "{status_line}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    Some(answer.into_bytes())
}

impl<S: AsyncRead + Unpin> AsyncRead for JsonErrors<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for JsonErrors<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.replacing.is_none() {
            match rewrite(buf) {
                Some(answer) => this.replacing = Some((answer, 0, buf.len())),
                None => return Pin::new(&mut this.inner).poll_write(cx, buf),
            }
        }
        // Write the whole rewritten answer before telling hyper its bytes went out.
        while let Some((answer, written, stands_for)) = &mut this.replacing {
            if *written == answer.len() {
                let stands_for = *stands_for;
                this.replacing = None;
                return Poll::Ready(Ok(stands_for));
            }
            match Pin::new(&mut this.inner).poll_write(cx, &answer[*written..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => *written += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(0))
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    /// hyper writes an answer's head as one slice (its body, if any, in the next ones): a head
    /// [`rewrite`] recognizes is replaced as in `poll_write`; everything else goes through as it is.
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let first = bufs
            .iter()
            .find(|b| !b.is_empty())
            .map_or(&[][..], |b| &**b);
        if self.replacing.is_some() || rewrite(first).is_some() {
            return self.poll_write(cx, first);
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn hypers_empty_parse_errors_become_json_and_nothing_else_changes() {
        let head = b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\ndate: Mon, 07 Dec 2026 05:00:00 GMT\r\n\r\n";
        let answer = String::from_utf8(rewrite(head).unwrap()).unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 414 URI Too Long\r\n"),
            "{answer}"
        );
        let body: serde_json::Value =
            serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(body["error"]["code"], "uri_too_long");
        assert_eq!(body["error"]["field"], "path");

        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 80\r\n\r\n";
        assert!(rewrite(ours).is_none(), "the router's own errors pass");
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        assert!(rewrite(ok).is_none());
    }
}
