//! The dashboard: one server-rendered page with the inventory, tiers and overdue
//! reviews, and the audit log's signed head. Open in demo mode; otherwise it asks for
//! a key once and opens a session: the browser keeps only a random session id (an
//! HttpOnly, SameSite=Strict cookie), never the key; the key is checked again on every
//! page, so revocation applies at once.

use axum::extract::{Form, State};
use axum::http::header::{CONTENT_TYPE, SET_COOKIE};
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use moat_domain::{AuthMethod, InventoryRow};
use serde::Deserialize;

use super::AppState;
use crate::service::Ctx;

const COOKIE: &str = "moat_session";
/// How long a dashboard session lasts.
const SESSION_SECS: u64 = 8 * 3600;
/// Most open sessions kept; the oldest go first.
const MAX_SESSIONS: usize = 10_000;

/// Open dashboard sessions: session id to (key id, expiry).
#[derive(Default)]
pub(crate) struct Sessions(
    std::sync::Mutex<std::collections::HashMap<String, (String, std::time::Instant)>>,
);

impl Sessions {
    fn open(&self, key_id: String) -> String {
        let id = hex::encode(crate::secret::random_bytes::<32>());
        let now = std::time::Instant::now();
        if let Ok(mut m) = self.0.lock() {
            m.retain(|_, (_, exp)| *exp > now);
            if m.len() >= MAX_SESSIONS {
                if let Some(oldest) = m
                    .iter()
                    .min_by_key(|(_, (_, e))| *e)
                    .map(|(k, _)| k.clone())
                {
                    m.remove(&oldest);
                }
            }
            m.insert(
                id.clone(),
                (key_id, now + std::time::Duration::from_secs(SESSION_SECS)),
            );
        }
        id
    }

    fn key_of(&self, session: &str) -> Option<String> {
        let m = self.0.lock().ok()?;
        let (key, exp) = m.get(session)?;
        (*exp > std::time::Instant::now()).then(|| key.clone())
    }
}

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(page))
        .route("/login", axum::routing::post(login))
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn cookie_key(parts: &Parts) -> Option<String> {
    let h = parts
        .headers
        .get(axum::http::header::COOKIE)?
        .to_str()
        .ok()?;
    h.split(';')
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_owned())
}

async fn page(State(st): State<AppState>, req: axum::extract::Request) -> Response {
    let (parts, _) = req.into_parts();
    let cx = if st.options.public_dashboard {
        Ctx::system()
    } else {
        let principal = match super::presented_key(&parts) {
            Some(k) => st.app.authenticate(&k, AuthMethod::ApiKey).await.ok(),
            None => match cookie_key(&parts).and_then(|sid| st.sessions.key_of(&sid)) {
                Some(key_id) => st
                    .app
                    .principal_for_key(&key_id, AuthMethod::ApiKey)
                    .await
                    .ok(),
                None => None,
            },
        };
        match principal {
            Some(p) => Ctx {
                principal: p,
                request_id: crate::secret::new_id("req"),
            },
            None => return Html(shell("Sign in", LOGIN)).into_response(),
        }
    };
    match st.app.inventory(&cx).await {
        Ok(rows) => {
            let head = st.app.audit_head(&cx).await.ok();
            Html(shell("Inventory", &render(&rows, head))).into_response()
        }
        Err(e) => (
            e.status(),
            Html(shell(
                "Error",
                &format!("<p class=err>{}</p>", esc(&e.to_string())),
            )),
        )
            .into_response(),
    }
}

#[derive(Deserialize)]
struct LoginForm {
    key: String,
}

async fn login(State(st): State<AppState>, Form(f): Form<LoginForm>) -> Response {
    match st.app.authenticate(&f.key, AuthMethod::ApiKey).await {
        Ok(p) => {
            let sid = st.sessions.open(p.key_id.unwrap_or_default());
            (
                [(
                    SET_COOKIE,
                    format!(
                        "{COOKIE}={sid}; HttpOnly; SameSite=Strict; Path=/; Max-Age={SESSION_SECS}"
                    ),
                )],
                Redirect::to("/"),
            )
                .into_response()
        }
        Err(_) => (
            axum::http::StatusCode::UNAUTHORIZED,
            [(CONTENT_TYPE, "text/html; charset=utf-8")],
            shell(
                "Sign in",
                &format!("<p class=err>That key is not valid.</p>{LOGIN}"),
            ),
        )
            .into_response(),
    }
}

const LOGIN: &str = r#"<form method="post" action="/login"><label>API key <input name="key" type="password" autocomplete="off" size="60"></label> <button>Sign in</button></form>"#;

fn shell(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Moat · {title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{{font:14px/1.4 system-ui,sans-serif;margin:2rem;color:#1d2430;background:#f7f8fa}}
h1{{font-size:1.4rem;margin:0 0 .2rem}} .sub{{color:#5b6575;margin-bottom:1.5rem}}
.cards{{display:flex;gap:1rem;margin-bottom:1.5rem;flex-wrap:wrap}}
.card{{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:.8rem 1.2rem;min-width:8rem}}
.card b{{display:block;font-size:1.6rem}}
table{{border-collapse:collapse;width:100%;background:#fff;border:1px solid #dde1e7}}
th,td{{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #eef0f3}} th{{background:#f0f2f5}}
.tier-high,.tier-unacceptable{{color:#b3261e;font-weight:600}} .tier-limited{{color:#a15c00}} .tier-minimal{{color:#2e7d32}}
tr.overdue td{{background:#fff4f2}} .badge{{background:#b3261e;color:#fff;border-radius:4px;padding:0 .4rem;font-size:.8rem}}
pre{{background:#fff;border:1px solid #dde1e7;padding:.8rem;overflow:auto}} .err{{color:#b3261e}}
</style></head><body><h1>Moat</h1><div class="sub">AI security control plane · {title}</div>{body}</body></html>"#
    )
}

fn render(rows: &[InventoryRow], head: Option<(u64, Option<String>)>) -> String {
    let count = |k: &str| rows.iter().filter(|r| r.kind == k).count();
    let overdue = rows.iter().filter(|r| r.overdue).count();
    let mut s = format!(
        r#"<div class="cards"><div class="card"><b>{}</b>models</div><div class="card"><b>{}</b>datasets</div><div class="card"><b>{}</b>endpoints</div><div class="card"><b>{}</b>AI systems</div><div class="card"><b style="color:{}">{overdue}</b>overdue reviews</div></div>"#,
        count("model"),
        count("dataset"),
        count("endpoint"),
        count("system"),
        if overdue > 0 { "#b3261e" } else { "#2e7d32" },
    );
    s.push_str("<table><thead><tr><th>Kind</th><th>Asset</th><th>Owner</th><th>Tier</th><th>Sensitivity</th><th>AI system</th><th>Aliases</th><th>Review due</th></tr></thead><tbody>");
    for r in rows {
        let tier = r.tier.map(|t| t.to_string()).unwrap_or_default();
        let due = r
            .review_due
            .map(|d| moat_domain::format_time(d)[..10].to_owned())
            .unwrap_or_default();
        s.push_str(&format!(
            r#"<tr class="{}"><td>{}</td><td>{}</td><td>{}</td><td class="tier-{}">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td></tr>"#,
            if r.overdue { "overdue" } else { "" },
            esc(&r.kind),
            esc(&r.asset),
            esc(&r.owner),
            esc(&tier),
            esc(&tier),
            esc(&r.sensitivity.map(|x| x.to_string()).unwrap_or_default()),
            esc(r.ai_system.as_deref().unwrap_or("")),
            esc(&r.aliases.join(", ")),
            esc(&due),
            if r.overdue { r#" <span class="badge">overdue</span>"# } else { "" },
        ));
    }
    s.push_str("</tbody></table>");
    if let Some((size, Some(note))) = head {
        s.push_str(&format!(
            "<h2>Audit log</h2><p>{size} entries. Latest signed checkpoint (verify with <code>moat audit verify</code>):</p><pre>{}</pre>",
            esc(&note)
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_html() {
        assert_eq!(esc(r#"<b a="x">&'"#), "&lt;b a=&quot;x&quot;&gt;&amp;&#39;");
    }
}
