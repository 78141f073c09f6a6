//! The listener: HTTP/1.1 and HTTP/2 (cleartext, by prior knowledge) on one port.
//!
//! [`Workers`] is how `moat serve` runs it: a thread a core, each with its own listening
//! socket on the same address (`SO_REUSEPORT` on Linux: the kernel spreads connections
//! over them), its own single-threaded event loop and its own upstream pool, so a request
//! is read, checked, forwarded and answered on one thread without waking another.
//! [`serve`] runs one listener on the caller's runtime instead.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;

use crate::proxy::{Gateway, Upstream};

/// Serves until `shutdown` completes; connections in flight finish on their own.
pub async fn serve(
    listener: TcpListener,
    gateway: Arc<Gateway>,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let pool = None;
    accept_loop(listener, gateway, pool, Arc::default(), shutdown).await
}

async fn accept_loop(
    listener: TcpListener,
    gateway: Arc<Gateway>,
    pool: Option<Upstream>,
    busy: Arc<AtomicUsize>,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    tokio::pin!(shutdown);
    loop {
        let (stream, _peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(s) => s,
                Err(e) => {
                    // Out of file descriptors and the like: keep serving the others.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => return Ok(()),
        };
        let _ = stream.set_nodelay(true);
        let gw = gateway.clone();
        let pool = pool.clone();
        let busy = busy.clone();
        let head_timeout = gateway.client_timeout();
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let gw = gw.clone();
                let pool = pool.clone();
                let busy = InFlight::enter(&busy);
                async move {
                    let resp = match &pool {
                        Some(p) => gw.handle_via(req, p).await,
                        None => gw.handle(req).await,
                    };
                    drop(busy);
                    Ok::<_, std::convert::Infallible>(resp)
                }
            });
            let mut b = auto::Builder::new(TokioExecutor::new());
            b.http1()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(head_timeout);
            if let Err(e) = b.serve_connection(TokioIo::new(stream), svc).await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
}

/// Counts a request being answered for as long as it lives.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn enter(n: &Arc<AtomicUsize>) -> Self {
        n.fetch_add(1, Ordering::AcqRel);
        InFlight(n.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Listening sockets for `workers` threads on one address. On Linux each has its own
/// (`SO_REUSEPORT`, so the kernel balances new connections); elsewhere they share one.
pub fn bind(addr: &str, workers: usize) -> std::io::Result<Vec<std::net::TcpListener>> {
    use socket2::{Domain, Protocol, Socket, Type};
    let target = std::net::ToSocketAddrs::to_socket_addrs(addr)?
        .next()
        .ok_or_else(|| std::io::Error::other(format!("`{addr}` names no address")))?;
    let open = |at: SocketAddr, many: bool| -> std::io::Result<std::net::TcpListener> {
        let s = Socket::new(Domain::for_address(at), Type::STREAM, Some(Protocol::TCP))?;
        #[cfg(unix)]
        s.set_reuse_address(true)?;
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if many {
            s.set_reuse_port(true)?;
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let _ = many;
        s.bind(&at.into())?;
        s.listen(1024)?;
        s.set_nonblocking(true)?;
        Ok(s.into())
    };
    let workers = workers.max(1);
    let reuse_port = cfg!(any(target_os = "linux", target_os = "android")) && workers > 1;
    if reuse_port && target.port() != 0 {
        // Sockets with SO_REUSEPORT share a port with any other such socket of this user:
        // a second gateway on the same address must fail, not take half the traffic. A
        // plain socket cannot bind where anyone listens.
        let probe = Socket::new(
            Domain::for_address(target),
            Type::STREAM,
            Some(Protocol::TCP),
        )?;
        #[cfg(unix)]
        probe.set_reuse_address(true)?;
        probe.bind(&target.into())?;
    }
    let first = open(target, reuse_port)?;
    // Port 0 picked a port: the others bind that one.
    let at = first.local_addr()?;
    let mut all = vec![first];
    for _ in 1..workers {
        all.push(if reuse_port {
            open(at, true)?
        } else {
            all[0].try_clone()?
        });
    }
    Ok(all)
}

/// The gateway's serving threads.
pub struct Workers {
    addr: SocketAddr,
    done: Vec<tokio::sync::oneshot::Receiver<std::io::Result<()>>>,
}

/// How long a stopping worker waits for the requests it is answering.
const DRAIN: Duration = Duration::from_secs(10);

impl Workers {
    /// Starts a thread for each listener (from [`bind`]); they stop accepting when
    /// `stop` turns true, then wait for the requests being answered to get their
    /// response heads (up to 10 s; bodies still streaming are cut).
    pub fn start(
        listeners: Vec<std::net::TcpListener>,
        gateway: Arc<Gateway>,
        stop: tokio::sync::watch::Receiver<bool>,
    ) -> std::io::Result<Workers> {
        let addr = listeners
            .first()
            .ok_or_else(|| std::io::Error::other("no listener to serve"))?
            .local_addr()?;
        let mut done = Vec::new();
        for (i, l) in listeners.into_iter().enumerate() {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let gw = gateway.clone();
            let mut stop = stop.clone();
            std::thread::Builder::new()
                .name(format!("moat-gateway-{i}"))
                .spawn(move || {
                    let run = || -> std::io::Result<()> {
                        let rt = tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()?;
                        rt.block_on(async move {
                            let l = TcpListener::from_std(l)?;
                            let busy = Arc::new(AtomicUsize::new(0));
                            let stopped = async {
                                let _ = stop.wait_for(|s| *s).await;
                            };
                            let r = accept_loop(
                                l,
                                gw,
                                Some(crate::proxy::upstream_pool()),
                                busy.clone(),
                                stopped,
                            )
                            .await;
                            let until = tokio::time::Instant::now() + DRAIN;
                            while busy.load(Ordering::Acquire) > 0
                                && tokio::time::Instant::now() < until
                            {
                                tokio::time::sleep(Duration::from_millis(20)).await;
                            }
                            r
                        })
                    };
                    let _ = tx.send(run());
                })?;
            done.push(rx);
        }
        Ok(Workers { addr, done })
    }

    /// Where the workers listen.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Waits for every worker to stop; the first failure, if any.
    pub async fn join(self) -> std::io::Result<()> {
        let mut first = Ok(());
        for rx in self.done {
            let r = rx
                .await
                .unwrap_or_else(|_| Err(std::io::Error::other("a gateway thread panicked")));
            if first.is_ok() {
                first = r;
            }
        }
        first
    }
}

/// Serving threads when none are configured: one a core.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_gateway_on_the_same_address_is_refused() {
        let first = bind("127.0.0.1:0", 2).expect("bind");
        let at = first[0].local_addr().expect("addr");
        assert_eq!(first[1].local_addr().expect("addr"), at);
        let again = bind(&at.to_string(), 2);
        assert!(again.is_err(), "a second set of listeners joined the first");
        assert!(bind(&at.to_string(), 1).is_err());
        drop(first);
        assert!(
            bind(&at.to_string(), 2).is_ok(),
            "the address is free again"
        );
    }
}
