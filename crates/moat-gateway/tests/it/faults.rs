//! Faults on both sides: upstreams that reset, break off their answers, fail with 5xx or
//! trickle their bodies; clients that send their head or body too slowly, or hold many
//! connections open. Each time the gateway answers what it can, says whose fault it was,
//! and goes on serving everyone else at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use moat_gateway::keys::ResolveFuture;
use moat_gateway::{Gateway, GatewaySettings, Grant, KeyResolver};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

struct Keys;

impl KeyResolver for Keys {
    fn resolve<'a>(&'a self, token: &'a str) -> ResolveFuture<'a> {
        Box::pin(async move {
            Ok((token == "k").then(|| Grant {
                key_id: "key_k".into(),
                endpoints: vec!["raw".into(), "inspected".into()],
                may_invoke: true,
                expires: None,
            }))
        })
    }
}

/// A model server written by hand on raw sockets, so that it can misbehave:
/// `/ok` answers at once, `/reset` resets the connection after reading the request,
/// `/half` sends a head promising 100 bytes and closes after 7, `/500` fails,
/// `/trickle` sends its 10-chunk body 100 ms a chunk.
async fn upstream() -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut s, _) = l.accept().await.unwrap();
            tokio::spawn(async move {
                loop {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    // Read one request: its head, then its Content-Length body.
                    let head_end = loop {
                        let n = match s.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    while buf.len() < head_end + len {
                        match s.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    match path.as_str() {
                        "/reset" => {
                            let _ = s.set_zero_linger();
                            return;
                        }
                        "/half" => {
                            let _ = s
                                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial")
                                .await;
                            return;
                        }
                        "/500" => {
                            let body = r#"{"error":"model crashed"}"#;
                            let _ = s
                                .write_all(
                                    format!("HTTP/1.1 500 Internal Server Error\r\ncontent-length: {}\r\n\r\n{body}", body.len())
                                        .as_bytes(),
                                )
                                .await;
                        }
                        "/trickle" => {
                            let _ = s
                                .write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
                                .await;
                            for i in 0..10 {
                                tokio::time::sleep(Duration::from_millis(100)).await;
                                let _ = s.write_all(format!("1\r\n{i}\r\n").as_bytes()).await;
                            }
                            let _ = s.write_all(b"0\r\n\r\n").await;
                        }
                        _ => {
                            let _ = s
                                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                                .await;
                        }
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

async fn gateway(up: &str) -> String {
    let toml = format!(
        r#"
        client_timeout_s = 0.5
        upstream_timeout_s = 2
        circuit_failures = 1000
        [[endpoints]]
        name = "raw"
        upstream = "{up}"
        [[endpoints]]
        name = "inspected"
        upstream = "{up}"
        detectors = {{ pii = "log" }}
        "#
    );
    let settings: GatewaySettings = toml::from_str(&toml).unwrap();
    let gw = Arc::new(Gateway::new(&settings.validate().unwrap(), Arc::new(Keys)));
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(moat_gateway::server::serve(l, gw, std::future::pending()));
    addr.to_string()
}

async fn get(gw: &str, path: &str) -> (StatusCode, Result<Bytes, String>) {
    let c: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build(HttpConnector::new());
    let r = c
        .request(
            Request::post(format!("http://{gw}{path}"))
                .header("authorization", "Bearer k")
                .body(Full::new(Bytes::from_static(b"{}")))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = r.status();
    let body = r
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .map_err(|e| e.to_string());
    (status, body)
}

/// Another client is served promptly meanwhile.
async fn others_are_served(gw: &str) {
    let t = Instant::now();
    let (s, b) = get(gw, "/raw/ok").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b.unwrap(), "ok");
    assert!(
        t.elapsed() < Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn upstream_faults_are_answered_and_blamed_on_the_upstream() {
    let up = upstream().await;
    let gw = gateway(&up).await;
    // A reset before any answer: 502, the upstream's fault.
    let (s, b) = get(&gw, "/raw/reset").await;
    assert_eq!(s, StatusCode::BAD_GATEWAY);
    let v: serde_json::Value = serde_json::from_slice(&b.unwrap()).unwrap();
    assert_eq!(v["error"]["type"], "upstream");
    assert_eq!(v["error"]["code"], "upstream_unavailable");
    others_are_served(&gw).await;
    // An answer broken off after its head: the head was passed on, so the client sees the
    // body end early (an error), not a made-up success.
    let (s, b) = get(&gw, "/raw/half").await;
    assert_eq!(s, StatusCode::OK);
    assert!(b.is_err(), "{b:?}");
    // With a response detector the answer is read whole first: 502 instead.
    let (s, b) = get(&gw, "/inspected/half").await;
    assert_eq!(s, StatusCode::BAD_GATEWAY, "{b:?}");
    others_are_served(&gw).await;
    // The model's own failure passes through as it is.
    let (s, b) = get(&gw, "/raw/500").await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(String::from_utf8_lossy(&b.unwrap()).contains("model crashed"));
    // A trickling body streams through, and nobody else waits for it.
    let gw2 = gw.clone();
    let slow = tokio::spawn(async move {
        let t = Instant::now();
        let (s, b) = get(&gw2, "/raw/trickle").await;
        (s, b, t.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    others_are_served(&gw).await;
    let (s, b, took) = slow.await.unwrap();
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b.unwrap(), "0123456789");
    assert!(took >= Duration::from_millis(900), "{took:?}");
}

#[tokio::test]
async fn slow_clients_are_cut_off_without_holding_up_others() {
    let up = upstream().await;
    let gw = gateway(&up).await;
    // Two hundred connections that never finish their heads.
    let mut idle = Vec::new();
    for _ in 0..200 {
        let mut s = TcpStream::connect(&gw).await.unwrap();
        s.write_all(b"POST /raw/ok HTTP/1.1\r\nHost: x\r\nAuthor")
            .await
            .unwrap();
        idle.push(s);
    }
    others_are_served(&gw).await;
    // After the client timeout the gateway has closed them.
    tokio::time::sleep(Duration::from_millis(900)).await;
    let mut closed = 0;
    for s in &mut idle {
        let mut b = [0u8; 512];
        match tokio::time::timeout(Duration::from_millis(200), s.read(&mut b)).await {
            Ok(Ok(_)) | Ok(Err(_)) => closed += 1,
            Err(_) => {}
        }
    }
    assert_eq!(closed, 200, "slow heads are cut off");
    // A body that stalls where the gateway reads it whole: 408, the client's fault.
    let mut s = TcpStream::connect(&gw).await.unwrap();
    s.write_all(
        b"POST /inspected/ok HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\nContent-Length: 100\r\n\r\n{\"a\":",
    )
    .await
    .unwrap();
    let t = Instant::now();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(3), s.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("body_timeout") && answer.contains(r#""type":"client""#),
        "{answer}"
    );
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    others_are_served(&gw).await;
}
