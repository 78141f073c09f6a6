//! The model servers behind the gateway in `moat serve --demo`, on a loopback port of
//! their own: a credit-scoring classifier (`POST /predict`, a fixed logistic model over
//! income, debt ratio, age and late payments) and a small OpenAI-compatible chat model
//! (`POST /v1/chat/completions`, streaming included, and `POST /v1/embeddings`) that
//! answers from canned text. Enough for a newcomer to call the gateway with `curl` and
//! watch its keys, limits and detectors work.

use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

/// Serves the demo models; returns their base URL.
pub(crate) async fn start() -> anyhow::Result<String> {
    let router = Router::new()
        .route("/predict", post(predict))
        .route("/v1/chat/completions", post(chat))
        .route("/v1/embeddings", post(embeddings));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = l.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(l, router).await {
            tracing::error!(error = %e, "the demo model server stopped");
        }
    });
    Ok(format!("http://{addr}"))
}

/// The body as JSON whatever its content type (`curl -d` sends a form type).
fn json_body(b: &[u8]) -> Result<Value, Box<Response>> {
    serde_json::from_slice(b).map_err(|e| {
        Box::new(
            (
                axum::http::StatusCode::BAD_REQUEST,
                Json(json!({"error": format!("the body is not JSON: {e}")})),
            )
                .into_response(),
        )
    })
}

/// Writes the data profile of the credit-scoring model's training data (2,000
/// generated applicants: income in thousands, debt ratio, age, late payments) into
/// `dir`, as `moat data profile` would make it, and returns its path: the demo's tabular
/// detectors compare live rows with it.
pub(crate) fn write_profile(dir: &std::path::Path) -> anyhow::Result<std::path::PathBuf> {
    let mut csv = String::from("income_k,debt_ratio,age,late_payments\n");
    let mut s: u64 = 0x2545_F491_4F6C_DD1D;
    let mut u = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    for _ in 0..2000 {
        let income = 25.0 + 90.0 * u() * u() + 20.0 * u();
        let debt = (0.15 + 0.5 * u() * u()).min(0.95);
        let age = (21.0 + 50.0 * u()).floor();
        let late = (-2.0 * u().ln()).floor().min(8.0);
        csv.push_str(&format!("{income:.1},{debt:.3},{age},{late}\n"));
    }
    std::fs::create_dir_all(dir)?;
    let data = dir.join("demo-credit-training.csv");
    std::fs::write(&data, csv)?;
    let mut table = moat_data::read::open(std::fs::File::open(&data)?)?;
    let values = moat_data::collect::collect_with(&mut table, true)?;
    let path = dir.join("demo-credit-profile.json");
    std::fs::write(
        &path,
        moat_data::profile::Profile::from_values(&values).to_json(),
    )?;
    Ok(path)
}

/// Probability of default for one applicant: `[income_k, debt_ratio, age, late_payments]`.
fn score(row: &[f64]) -> f64 {
    let w = [-0.03, 3.0, -0.02, 0.8];
    let z: f64 = -0.5 + row.iter().zip(w).map(|(x, w)| x * w).sum::<f64>();
    1.0 / (1.0 + (-z).exp())
}

async fn predict(body: axum::body::Bytes) -> Response {
    let body = match json_body(&body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let rows = body
        .get("rows")
        .or_else(|| body.get("instances"))
        .and_then(Value::as_array);
    let Some(rows) = rows else {
        return (
            axum::http::StatusCode::BAD_REQUEST,
            Json(json!({"error": "send {\"rows\": [[income_k, debt_ratio, age, late_payments], ...]}"})),
        )
            .into_response();
    };
    let mut preds = Vec::new();
    let mut probs = Vec::new();
    for r in rows {
        let v: Vec<f64> = r
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default();
        let p = score(&v);
        preds.push(u8::from(p >= 0.5));
        probs.push([1.0 - p, p]);
    }
    Json(json!({"predictions": preds, "probabilities": probs})).into_response()
}

fn last_user_text(body: &Value) -> String {
    body.get("messages")
        .and_then(Value::as_array)
        .and_then(|m| {
            m.iter()
                .rev()
                .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        })
        .and_then(|m| m.get("content"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

async fn chat(body: axum::body::Bytes) -> Response {
    let body = match json_body(&body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let asked = last_user_text(&body);
    let answer = format!(
        "This is Moat's demo model. You asked about \"{}\"; a real model would answer here.",
        asked.chars().take(80).collect::<String>()
    );
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("demo-chat")
        .to_owned();
    if body.get("stream").and_then(Value::as_bool) == Some(true) {
        let mut sse = String::new();
        for word in answer.split_inclusive(' ') {
            let chunk = json!({"id": "chatcmpl-demo", "object": "chat.completion.chunk", "created": 0, "model": model,
                "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": null}]});
            sse.push_str(&format!("data: {chunk}\n\n"));
        }
        let end = json!({"id": "chatcmpl-demo", "object": "chat.completion.chunk", "created": 0, "model": model,
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]});
        sse.push_str(&format!("data: {end}\n\ndata: [DONE]\n\n"));
        return (
            [(axum::http::header::CONTENT_TYPE, "text/event-stream")],
            sse,
        )
            .into_response();
    }
    Json(json!({
        "id": "chatcmpl-demo", "object": "chat.completion", "created": 0, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    }))
    .into_response()
}

async fn embeddings(body: axum::body::Bytes) -> Response {
    let body = match json_body(&body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let inputs: Vec<String> = match body.get("input") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, text)| {
            // A deterministic 8-dimensional vector from the text's bytes.
            let mut v = [0f64; 8];
            for (j, b) in text.bytes().enumerate() {
                v[j % 8] += f64::from(b) / 255.0;
            }
            let n = v.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-9);
            json!({"object": "embedding", "index": i, "embedding": v.iter().map(|x| x / n).collect::<Vec<_>>()})
        })
        .collect();
    Json(
        json!({"object": "list", "data": data, "model": "demo-embed",
        "usage": {"prompt_tokens": 0, "total_tokens": 0}}),
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn risky_applicants_score_higher() {
        assert!(score(&[20.0, 0.9, 25.0, 3.0]) > 0.5);
        assert!(score(&[120.0, 0.1, 50.0, 0.0]) < 0.5);
    }
}
