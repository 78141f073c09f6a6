//! Rate limits through the real Redis (`MOAT_TEST_REDIS_URL`, default the local one).

use std::time::Duration;

use moat_gateway::ratelimit::Limit;
use moat_gateway::shared_limit::SharedLimiter;

fn url() -> String {
    std::env::var("MOAT_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn subject() -> String {
    let n: u64 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    format!("test:{n}:{}", std::process::id())
}

#[tokio::test]
async fn two_limiters_share_one_limit() {
    let a = SharedLimiter::connect(&url()).await.expect("Redis answers");
    let b = SharedLimiter::connect(&url()).await.expect("Redis answers");
    let l = Limit {
        rate: 1.0,
        burst: 10,
    };
    let s = subject();
    let mut admitted = 0;
    for i in 0..30 {
        let lim = if i % 2 == 0 { &a } else { &b };
        if lim.check(&s, &l, 0).await.allowed {
            admitted += 1;
        }
    }
    assert_eq!(admitted, 10, "one burst between both replicas");
    let d = a.check(&s, &l, 0).await;
    assert!(!d.allowed);
    assert!(
        d.retry_after > Duration::from_millis(900) && d.retry_after <= Duration::from_secs(1),
        "{d:?}"
    );
    assert!(
        a.check(&subject(), &l, 0).await.allowed,
        "other subjects are separate"
    );
}

#[tokio::test]
async fn a_wrong_url_is_a_clear_error() {
    let e = SharedLimiter::connect("redis://127.0.0.1:1")
        .await
        .err()
        .expect("fails");
    assert!(e.contains("Redis"), "{e}");
}
