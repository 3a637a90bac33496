//! Accepting connections, plain or TLS, so that no number of idle or half-sent connections stops
//! a check from being answered.
//!
//! - **A limit on connections** ([`ConnectionSettings::max_connections`]). At the limit a new
//!   connection is still accepted, and the connection that has been idle longest (no request in
//!   flight: just opened, or kept alive between requests) is closed to make room; a connection
//!   in the middle of a request is never closed for it. Someone holding thousands of idle
//!   connections therefore loses them to the next real client, whose own request arrives
//!   within milliseconds of connecting. With no idle connection to close, the new one is.
//! - **Time-outs**: the first bytes of a connection must arrive within
//!   [`ConnectionSettings::header_read_timeout`], and a request's header within the same time
//!   (hyper's header read timeout, counted from the connection or the previous response); the
//!   TLS handshake within [`ConnectionSettings::handshake_timeout`]; and a connection whose
//!   reads wait longer than [`ConnectionSettings::idle_timeout`] with nothing arriving (an idle
//!   keep-alive, a stalled body) is closed.
//! - **Accept errors** (out of file descriptors, say) are logged and retried after a pause; they
//!   never end the server.
//!
//! Shutdown stops accepting, lets requests in flight finish (up to [`SHUTDOWN_GRACE`]), and
//! returns.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

/// How long requests in flight may take to finish once shutdown began.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How connections are limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionSettings {
    /// The most connections kept open at once (keep the process's file-descriptor limit above
    /// it, with room for the database's connections).
    pub max_connections: usize,
    /// The time for a connection's first bytes and for each request's header.
    pub header_read_timeout: Duration,
    /// The time a connection may wait for bytes once it has sent some (between keep-alive
    /// requests, within a body).
    pub idle_timeout: Duration,
    /// The time for a TLS handshake.
    pub handshake_timeout: Duration,
}

impl Default for ConnectionSettings {
    fn default() -> Self {
        Self {
            max_connections: 10_000,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

/// The open connections, and which are idle (by when they became idle: the lowest first).
#[derive(Debug, Default)]
struct Tracker {
    inner: Mutex<TrackerState>,
}

#[derive(Debug, Default)]
struct TrackerState {
    open: usize,
    next: u64,
    /// Idle connections by the order they became idle, with what closes them.
    idle: BTreeMap<u64, Arc<Notify>>,
}

impl Tracker {
    fn lock(&self) -> std::sync::MutexGuard<'_, TrackerState> {
        // Each update is complete before the lock is released, so a poisoned state is sound.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a new connection as idle; when over `max`, closes the longest-idle one (the
    /// new one itself when no other is idle).
    fn open(self: &Arc<Self>, max: usize) -> Slot {
        let close = Arc::new(Notify::new());
        let mut s = self.lock();
        s.open += 1;
        let key = s.next;
        s.next += 1;
        s.idle.insert(key, Arc::clone(&close));
        if s.open > max
            && let Some((_, oldest)) = s.idle.pop_first()
        {
            oldest.notify_one();
        }
        drop(s);
        Slot {
            tracker: Arc::clone(self),
            close,
            state: Mutex::new(SlotState {
                idle_key: Some(key),
                in_flight: 0,
            }),
        }
    }
}

/// One connection's place in the [`Tracker`].
#[derive(Debug)]
struct Slot {
    tracker: Arc<Tracker>,
    close: Arc<Notify>,
    state: Mutex<SlotState>,
}

#[derive(Debug)]
struct SlotState {
    idle_key: Option<u64>,
    in_flight: usize,
}

impl Slot {
    fn state(&self) -> std::sync::MutexGuard<'_, SlotState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A request began: the connection is not idle.
    fn busy(&self) {
        let mut st = self.state();
        st.in_flight += 1;
        if let Some(key) = st.idle_key.take() {
            self.tracker.lock().idle.remove(&key);
        }
    }

    /// A request ended: with none left in flight, the connection is idle again (the newest).
    fn done(&self) {
        let mut st = self.state();
        st.in_flight = st.in_flight.saturating_sub(1);
        if st.in_flight == 0 && st.idle_key.is_none() {
            let mut t = self.tracker.lock();
            let key = t.next;
            t.next += 1;
            t.idle.insert(key, Arc::clone(&self.close));
            st.idle_key = Some(key);
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let key = self.state().idle_key.take();
        let mut t = self.tracker.lock();
        if let Some(key) = key {
            t.idle.remove(&key);
        }
        t.open = t.open.saturating_sub(1);
    }
}

/// Marks the slot busy for as long as it lives.
struct InFlight(Arc<Slot>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.done();
    }
}

/// Serves `router` on `listener` (over TLS with `tls`) until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
    settings: ConnectionSettings,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let tracker = Arc::new(Tracker::default());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder =
        hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
    builder
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout);
    let builder = Arc::new(builder);
    tokio::pin!(shutdown);
    loop {
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before it was accepted:
                    // never a reason to stop serving the others.
                    tracing::warn!(error = %e, "accepting a connection failed; trying again");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let slot = Arc::new(tracker.open(settings.max_connections));
        let io = TimedIo::new(tcp, settings.header_read_timeout, settings.idle_timeout);
        let (router, tls, builder) = (router.clone(), tls.clone(), Arc::clone(&builder));
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let close = Arc::clone(&slot.close);
            let serve = async {
                match tls {
                    None => {
                        let service = tracked(router, Arc::clone(&slot));
                        let conn =
                            builder.serve_connection(hyper_util::rt::TokioIo::new(io), service);
                        let _ = watcher.watch(conn.into_owned()).await;
                    }
                    Some(acceptor) => {
                        let Ok(Ok(stream)) =
                            tokio::time::timeout(settings.handshake_timeout, acceptor.accept(io))
                                .await
                        else {
                            tracing::info!("TLS handshake refused or timed out");
                            return;
                        };
                        let identity = stream
                            .get_ref()
                            .1
                            .peer_certificates()
                            .and_then(|c| c.first())
                            .and_then(crate::tls::common_name);
                        let router: Router = match identity {
                            Some(cn) => {
                                router.layer(axum::Extension(crate::tls::ClientIdentity(cn)))
                            }
                            None => router,
                        };
                        let service = tracked(router, Arc::clone(&slot));
                        let conn =
                            builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service);
                        let _ = watcher.watch(conn.into_owned()).await;
                    }
                }
            };
            tokio::select! {
                () = serve => {}
                () = close.notified() => {}
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after the shutdown grace; closing them");
    }
    Ok(())
}

/// `router` as a hyper service that marks `slot` busy while a request is answered.
fn tracked(
    router: Router,
    slot: Arc<Slot>,
) -> hyper_util::service::TowerToHyperService<
    impl tower::Service<
        Request<hyper::body::Incoming>,
        Response = axum::response::Response,
        Error = std::convert::Infallible,
        Future = impl Send,
    > + Clone,
> {
    hyper_util::service::TowerToHyperService::new(tower::service_fn(
        move |req: Request<hyper::body::Incoming>| {
            slot.busy();
            let guard = InFlight(Arc::clone(&slot));
            let router = router.clone();
            async move {
                let response = router.oneshot(req).await;
                drop(guard);
                response
            }
        },
    ))
}

/// A socket whose reads fail (`TimedOut`) when nothing arrives for a while: `first` for the
/// first bytes, `idle` afterwards. Writes count as activity too (a slow reader of a large
/// answer is not idle).
struct TimedIo {
    inner: TcpStream,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl TimedIo {
    fn new(inner: TcpStream, first: Duration, idle: Duration) -> Self {
        Self {
            inner,
            idle,
            deadline: Box::pin(tokio::time::sleep(first)),
        }
    }

    fn touch(&mut self) {
        self.deadline.as_mut().reset(Instant::now() + self.idle);
    }
}

impl AsyncRead for TimedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    self.touch();
                }
                Poll::Ready(result)
            }
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "nothing arrived on the connection in time",
                ))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl AsyncWrite for TimedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_idle_connection_makes_room_and_busy_ones_are_kept() {
        let tracker = Arc::new(Tracker::default());
        let a = tracker.open(2);
        let b = tracker.open(2);
        a.busy();
        // Over the limit: b is the only idle one besides the newcomer, and the oldest.
        let c = tracker.open(2);
        assert!(
            was_notified(&b.close),
            "the longest idle connection is closed"
        );
        assert!(!was_notified(&a.close), "a busy connection is kept");
        assert!(!was_notified(&c.close));
        drop(b);
        a.done();
        // a is idle again, newer than c: the next newcomer closes c.
        let d = tracker.open(2);
        assert!(was_notified(&c.close));
        assert!(!was_notified(&a.close));
        drop((c, d, a));
        assert_eq!(tracker.lock().open, 0);
        assert!(tracker.lock().idle.is_empty());
    }

    /// Whether `notify` holds a permit (was notified with no one waiting).
    fn was_notified(notify: &Notify) -> bool {
        let fut = notify.notified();
        tokio::pin!(fut);
        let waker = std::task::Waker::noop();
        let ready = fut
            .as_mut()
            .poll(&mut Context::from_waker(waker))
            .is_ready();
        if ready {
            // Put the permit back for later checks.
            notify.notify_one();
        }
        ready
    }
}
