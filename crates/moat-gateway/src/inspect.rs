//! Running detectors on an exchange: recording what they find (log, metrics, events),
//! deciding what it means for the traffic (pass, block, redact), and the response side:
//! whole bodies read up to a bound, server-sent event streams read event by event with
//! their text assembled, cut when a blocking detector fires.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame};

use crate::config::Endpoint;
use crate::detect::{Detector, DetectorCx, Finding, Mode};
use crate::error::{Body, BoxError};
use crate::events::{Event, EventQueue};
use crate::metrics::Metrics;

/// Where findings go: the log, the metrics and the event queue.
#[derive(Clone)]
pub struct Recorder {
    pub metrics: Metrics,
    pub events: Option<EventQueue>,
}

impl Recorder {
    pub fn record(&self, endpoint: &str, key_id: &str, f: &Finding, mode: Mode) {
        let mode_name = mode.as_str();
        self.metrics
            .detected(endpoint, &f.detector.to_string(), mode_name);
        if let Some(q) = &self.events {
            let pushed = q.push(Event {
                at: std::time::SystemTime::now(),
                endpoint: endpoint.to_owned(),
                key_id: key_id.to_owned(),
                detector: f.detector.to_string(),
                severity: f.severity.as_str().to_owned(),
                atlas: f.atlas.to_owned(),
                mode: mode_name.to_owned(),
                evidence: f.evidence.clone(),
            });
            if !pushed {
                self.metrics.event_dropped();
            }
        }
        match mode {
            Mode::Log => tracing::info!(
                endpoint, key_id, detector = %f.detector, severity = f.severity.as_str(),
                atlas = f.atlas, evidence = %f.evidence, "detection"
            ),
            Mode::Alert | Mode::Block | Mode::Redact => tracing::warn!(
                endpoint, key_id, detector = %f.detector, severity = f.severity.as_str(),
                atlas = f.atlas, evidence = %f.evidence, mode = mode_name, "detection"
            ),
        }
    }
}

/// What the detectors decided for one body.
#[derive(Debug, Default)]
pub struct Verdict {
    /// The first finding of a detector in `block` mode.
    pub block: Option<Finding>,
    /// Findings of a detector in `redact` mode (the body is to be rewritten).
    pub redact: usize,
    /// `detector:mode` of each detector that found something, for the request log.
    pub found: Vec<String>,
}

/// Runs `active` on one view of the exchange and records every new finding.
pub fn run(
    rec: &Recorder,
    ep: &Endpoint,
    active: &[(Arc<dyn Detector>, Mode)],
    cx: &DetectorCx<'_>,
) -> Verdict {
    let mut v = Verdict::default();
    let mut found = Vec::new();
    for (d, mode) in active {
        found.clear();
        d.inspect(cx, &mut found);
        if !found.is_empty() {
            v.found.push(format!("{}:{}", d.id(), mode.as_str()));
        }
        for f in found.drain(..) {
            if !f.repeat {
                rec.record(&ep.name, cx.key_id, &f, *mode);
            }
            match mode {
                Mode::Block if v.block.is_none() => v.block = Some(f),
                Mode::Redact => v.redact += 1,
                _ => {}
            }
        }
    }
    v
}

/// A response body read whole, or given back unread because it is larger than the
/// bound (the frames read so far first).
pub enum Read {
    Whole(Bytes),
    TooLarge(Body),
}

/// Reads `body` up to `limit` bytes.
pub async fn read_bounded(mut body: Body, limit: usize) -> Result<Read, BoxError> {
    use http_body_util::BodyExt;
    let mut parts: Vec<Bytes> = Vec::new();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue;
        };
        total += data.len();
        parts.push(data);
        if total > limit {
            let head = futures_util::stream::iter(parts.into_iter().map(|b| Ok(Frame::data(b))));
            let rest = http_body_util::BodyStream::new(body);
            use futures_util::StreamExt;
            let chained = http_body_util::StreamBody::new(head.chain(rest));
            return Ok(Read::TooLarge(BodyExt::boxed(chained)));
        }
    }
    Ok(Read::Whole(match parts.len() {
        1 => parts.pop().unwrap_or_default(),
        _ => {
            let mut all = Vec::with_capacity(total);
            for p in parts {
                all.extend_from_slice(&p);
            }
            Bytes::from(all)
        }
    }))
}

/// Text of the assembled stream kept for scanning: enough that no finding is cut in
/// two (the longest the guard matches is far shorter).
const TAIL_KEEP: usize = 2048;
/// Bytes of an unfinished event held at most; beyond, the stream is cut.
const MAX_EVENT: usize = 1 << 20;

/// A server-sent event stream passed through event by event: each complete event's
/// text (OpenAI chunks: `choices[].delta.content`, `choices[].text`, tool-call
/// arguments) is added to the assembled text and scanned for personal data and secrets
/// before the event goes on. A finding in `block` or `redact` mode ends the stream with
/// an error event (`data: {"error": {…}}`, which OpenAI clients raise as an error) in
/// place of the event that held it; in `log` or `alert` mode it is recorded and the
/// stream goes on.
pub struct SseGuard {
    inner: Body,
    rec: Recorder,
    ep: Arc<Endpoint>,
    key_id: String,
    scanner: Arc<moat_guard::Scanner>,
    mode: Mode,
    pending: Vec<u8>,
    tail: String,
    /// Characters dropped from the front of `tail`.
    base: usize,
    /// Findings already recorded: absolute start and entity.
    seen: VecDeque<(usize, &'static str)>,
    /// Characters of answer text assembled so far.
    total: usize,
    /// Events scanned clean but held until [`HOLD`] more characters have come after
    /// them (in `block` and `redact` modes), with where their text ends.
    held: VecDeque<(Bytes, usize)>,
    out: VecDeque<Bytes>,
    done: bool,
}

/// Characters of answer text an event is held back for, in `block` and `redact`
/// modes, so that a finding split over several events is cut before its first part
/// leaves: longer than a card number, an IBAN or a cloud key.
pub const HOLD: usize = 64;

impl SseGuard {
    pub fn new(
        inner: Body,
        rec: Recorder,
        ep: Arc<Endpoint>,
        key_id: String,
        scanner: Arc<moat_guard::Scanner>,
        mode: Mode,
    ) -> Self {
        SseGuard {
            inner,
            rec,
            ep,
            key_id,
            scanner,
            mode,
            pending: Vec::new(),
            tail: String::new(),
            base: 0,
            seen: VecDeque::new(),
            total: 0,
            held: VecDeque::new(),
            out: VecDeque::new(),
            done: false,
        }
    }

    /// Takes in bytes; queues every complete event that may go on.
    fn feed(&mut self, data: &[u8]) {
        self.pending.extend_from_slice(data);
        while !self.done {
            let Some(end) = event_end(&self.pending) else {
                if self.pending.len() > MAX_EVENT {
                    self.cut("an event of the stream is larger than the gateway reads");
                }
                return;
            };
            let event: Vec<u8> = self.pending.drain(..end).collect();
            let text = event_text(&event);
            if !text.is_empty() && self.scan(&text) {
                return;
            }
            let at = self.total;
            self.held.push_back((Bytes::from(event), at));
            self.release(false);
        }
    }

    /// Moves held events out once enough text followed them (all of them at the end).
    fn release(&mut self, all: bool) {
        let hold = if matches!(self.mode, Mode::Block | Mode::Redact) {
            HOLD
        } else {
            0
        };
        while let Some((_, at)) = self.held.front() {
            if !all && at + hold > self.total {
                break;
            }
            if let Some((b, _)) = self.held.pop_front() {
                self.out.push_back(b);
            }
        }
    }

    /// Adds text to the assembled stream and scans it; true when the stream was cut.
    fn scan(&mut self, text: &str) -> bool {
        self.tail.push_str(text);
        self.total += text.chars().count();
        let mut cut = None;
        for f in self.scanner.scan(&self.tail) {
            let start = self.base + f.start;
            if self.seen.contains(&(start, f.entity)) {
                continue;
            }
            if self.seen.len() == 256 {
                self.seen.pop_front();
            }
            self.seen.push_back((start, f.entity));
            let mut finding = crate::detect::pii::finding(&f, "the streamed answer");
            finding.evidence = format!(
                "{} in the streamed answer at {}..{} (score {:.2})",
                f.entity,
                start,
                self.base + f.end,
                f.score
            );
            self.rec
                .record(&self.ep.name, &self.key_id, &finding, self.mode);
            if matches!(self.mode, Mode::Block | Mode::Redact) && cut.is_none() {
                cut = Some(finding);
            }
        }
        if let Some(f) = cut {
            self.cut(&format!(
                "the answer was cut by detector `{}` (MITRE ATLAS {}): {}",
                f.detector, f.atlas, f.evidence
            ));
            return true;
        }
        let chars = self.tail.chars().count();
        if chars > TAIL_KEEP * 2 {
            let drop = chars - TAIL_KEEP;
            let at = self
                .tail
                .char_indices()
                .nth(drop)
                .map_or(self.tail.len(), |(i, _)| i);
            self.tail.drain(..at);
            self.base += drop;
        }
        false
    }

    fn cut(&mut self, message: &str) {
        let body = serde_json::json!({"error": {
            "type": "upstream",
            "code": "response_blocked",
            "message": message,
        }});
        self.out.push_back(Bytes::from(format!("data: {body}\n\n")));
        self.pending.clear();
        self.done = true;
        self.rec.metrics.stream_cut(&self.ep.name);
    }
}

/// Where the first complete event of `b` ends (after its blank line), if any.
fn event_end(b: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i + 1 < b.len() {
        if b[i] == b'\n' {
            if b[i + 1] == b'\n' {
                return Some(i + 2);
            }
            if b[i + 1] == b'\r' && b.get(i + 2) == Some(&b'\n') {
                return Some(i + 3);
            }
        }
        i += 1;
    }
    None
}

/// Keys of stream events that hold metadata, not answer text.
const METADATA: [&str; 12] = [
    "id",
    "object",
    "model",
    "role",
    "finish_reason",
    "system_fingerprint",
    "type",
    "created",
    "index",
    "service_tier",
    "item_id",
    "logprobs",
];

/// The answer text an event carries: its `data:` lines joined (as the SSE standard
/// joins them); of an OpenAI chunk the text fields (`delta.content`, `delta.refusal`,
/// reasoning, tool and function call arguments, `text`, `message.content`; a Responses
/// API `….delta`), else every string but metadata; of data that is not JSON, the data.
pub fn event_text(event: &[u8]) -> String {
    let s = String::from_utf8_lossy(event);
    let data: Vec<&str> = s
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(|d| d.strip_prefix(' ').unwrap_or(d))
        .collect();
    if data.is_empty() {
        return String::new();
    }
    let data = data.join("\n");
    if data.trim() == "[DONE]" {
        return String::new();
    }
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&data) else {
        return data;
    };
    let mut out = String::new();
    let mut push = |t: Option<&serde_json::Value>| {
        if let Some(t) = t.and_then(|t| t.as_str()) {
            out.push_str(t);
        }
    };
    for c in v
        .get("choices")
        .and_then(|c| c.as_array())
        .into_iter()
        .flatten()
    {
        for p in [
            "/delta/content",
            "/delta/reasoning_content",
            "/delta/refusal",
            "/delta/function_call/arguments",
            "/text",
            "/message/content",
        ] {
            push(c.pointer(p));
        }
        for call in c
            .pointer("/delta/tool_calls")
            .and_then(|t| t.as_array())
            .into_iter()
            .flatten()
        {
            push(call.pointer("/function/arguments"));
        }
    }
    if v.get("type")
        .and_then(|t| t.as_str())
        .is_some_and(|t| t.ends_with(".delta"))
    {
        push(v.get("delta"));
    }
    if out.is_empty() {
        other_strings(&v, &mut out);
    }
    out
}

/// Every string of `v` not under a metadata key, space separated.
fn other_strings(v: &serde_json::Value, out: &mut String) {
    match v {
        serde_json::Value::String(s) => {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(s);
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| other_strings(x, out)),
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                if !METADATA.contains(&k.as_str()) {
                    other_strings(x, out);
                }
            }
        }
        _ => {}
    }
}

impl HttpBody for SseGuard {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        loop {
            if let Some(b) = self.out.pop_front() {
                return Poll::Ready(Some(Ok(Frame::data(b))));
            }
            if self.done {
                return Poll::Ready(None);
            }
            match Pin::new(&mut self.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => {
                    let mut cut = false;
                    if !self.pending.is_empty() {
                        let rest = std::mem::take(&mut self.pending);
                        let text = event_text(&rest);
                        cut = !text.is_empty() && self.scan(&text);
                        if !cut {
                            let at = self.total;
                            self.held.push_back((Bytes::from(rest), at));
                        }
                    }
                    if !cut {
                        self.release(true);
                    }
                    self.done = true;
                }
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(d) => self.feed(&d),
                    Err(other) => return Poll::Ready(Some(Ok(other))),
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_end_at_a_blank_line_and_carry_their_text() {
        assert_eq!(event_end(b"data: x\n\ndata: y"), Some(9));
        assert_eq!(event_end(b"data: x\r\n\r\n"), Some(11));
        assert_eq!(event_end(b"data: x\n"), None);
        let e = br#"data: {"choices":[{"delta":{"content":"Hel"}},{"text":"lo"}]}

"#;
        assert_eq!(event_text(e), "Hello");
        assert_eq!(event_text(b"data: [DONE]\n\n"), "");
        assert_eq!(event_text(b": comment\n\n"), "");
        // Other fields that carry answer text, and data split over lines.
        let refusal = br#"data: {"choices":[{"delta":{"refusal":"no: 4111"}}]}

"#;
        assert_eq!(event_text(refusal), "no: 4111");
        let responses = br#"data: {"type":"response.output_text.delta","item_id":"x","delta":"abc"}

"#;
        assert_eq!(event_text(responses), "abc");
        let split = b"data: {\"choices\":[{\"delta\":\ndata: {\"content\":\"hi\"}}]}\n\n";
        assert_eq!(event_text(split), "hi");
        let other = br#"data: {"id":"chatcmpl-1","output":{"note":"call me"}}

"#;
        assert_eq!(event_text(other), "call me");
        assert_eq!(event_text(b"data: plain words\n\n"), "plain words");
    }
}
