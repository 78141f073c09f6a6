//! Rate limits shared by several gateway replicas through Redis (`moat serve
//! --redis-url`): the same GCRA step as [`crate::ratelimit`], run as one Lua script so
//! that reading and moving a subject's theoretical arrival time is atomic, with Redis's
//! own clock so replicas on skewed hosts still agree. Keys expire once they no longer
//! matter, so Redis holds only subjects seen within their burst window.
//!
//! If Redis cannot be reached the replica keeps limiting on its own (each replica then
//! admits up to the whole limit) and says so in its log: the gateway does not stop
//! serving because its limiter's store is down.

use std::time::Duration;

use redis::aio::ConnectionManager;

use crate::ratelimit::{Decision, Limit, Limiter};

/// Returns `{allowed, wait_us, used_us}`: `used_us` is how far the arrival time runs
/// ahead of now after this request (for remaining and reset).
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local emission = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + emission
local allow_at = new_tat - tolerance
if now < allow_at then
  return {0, allow_at - now, tat - now}
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.floor((new_tat - now) / 1000) + 1000)
return {1, 0, new_tat - now}
";

pub struct SharedLimiter {
    conn: ConnectionManager,
    script: redis::Script,
    prefix: String,
    fallback: Limiter,
}

impl SharedLimiter {
    /// Connects (and fails here, clearly, when the URL is wrong or Redis is down at start).
    pub async fn connect(url: &str) -> Result<Self, String> {
        let client =
            redis::Client::open(url).map_err(|e| format!("the Redis URL is not valid: {e}"))?;
        let conn = tokio::time::timeout(Duration::from_secs(5), ConnectionManager::new(client))
            .await
            .map_err(|_| "Redis did not answer within 5 s".to_owned())?
            .map_err(|e| format!("cannot connect to Redis: {e}"))?;
        Ok(SharedLimiter {
            conn,
            script: redis::Script::new(GCRA),
            prefix: "moat:gcra:".into(),
            fallback: Limiter::default(),
        })
    }

    pub async fn check(&self, subject: &str, limit: &Limit, now_ns: u64) -> Decision {
        let emission_us = (limit.emission_ns() / 1000).max(1);
        let tolerance_us = emission_us.saturating_mul(u64::from(limit.burst));
        let mut conn = self.conn.clone();
        let key = format!("{}{}", self.prefix, subject.replace('\0', ":"));
        let r: Result<(u8, u64, u64), _> = tokio::time::timeout(
            Duration::from_millis(250),
            self.script
                .key(key)
                .arg(emission_us)
                .arg(tolerance_us)
                .invoke_async(&mut conn),
        )
        .await
        .map_err(|_| "timed out".to_owned())
        .and_then(|r| r.map_err(|e| e.to_string()));
        match r {
            Ok((allowed, wait_us, used_us)) => {
                let allowed = allowed == 1;
                let remaining = if allowed {
                    (tolerance_us.saturating_sub(used_us) / emission_us) as u32
                } else {
                    0
                };
                Decision {
                    allowed,
                    limit: limit.burst,
                    remaining,
                    reset: Duration::from_micros(used_us),
                    retry_after: Duration::from_micros(wait_us),
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "Redis rate limit unavailable; limiting on this replica alone");
                self.fallback.check(subject, limit, now_ns)
            }
        }
    }
}
