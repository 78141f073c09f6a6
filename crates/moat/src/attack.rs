//! `moat attack`, `moat attack membership`, `moat explain`, `moat probe`: load the model
//! and the arrays, run the engine (`moat-attack`), print a table or the JSON report,
//! check the gate, write JUnit, and record evidence on a model version.
//!
//! Exit codes: 0 the gate passed (or none was given), 1 a gate condition failed, 2 a
//! usage or I/O error.

use std::path::Path;
use std::process::ExitCode;
use std::str::FromStr as _;
use std::time::Duration;

use anyhow::Context as _;
use moat_attack::array::Array;
use moat_attack::gate;
use moat_attack::{AttackKind, Classifier, Norm, Settings};
use moat_domain::{EvidenceKind, NewEvidence, Verdict};

use crate::cli::{
    AttackArgs, AttackCmd, AttackSub, DataFormat, ExplainArgs, MembershipArgs, NormArg, ProbeArgs,
    ReportArgs, TargetArgs,
};
use crate::context::UsageError;
use crate::endpoint::{EndpointConfig, Http, HttpClassifier, OpenAiChat};
use crate::output;

/// Files larger than this are refused (arrays, models, configs).
const MAX_FILE: usize = 2 << 30;

fn read_file(path: &Path, limit: usize) -> anyhow::Result<Vec<u8>> {
    use std::io::Read as _;
    let f =
        std::fs::File::open(path).with_context(|| format!("cannot open `{}`", path.display()))?;
    let mut bytes = Vec::new();
    #[expect(clippy::disallowed_methods, reason = "capped by take")]
    f.take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    if bytes.len() > limit {
        anyhow::bail!("`{}` is larger than {limit} bytes", path.display());
    }
    Ok(bytes)
}

fn array(path: &Path) -> anyhow::Result<Array> {
    Array::parse(&read_file(path, MAX_FILE)?)
        .with_context(|| format!("cannot read `{}`", path.display()))
}

fn labels(path: &Path) -> anyhow::Result<Vec<usize>> {
    array(path)?
        .to_labels()
        .with_context(|| format!("cannot use `{}` as labels", path.display()))
}

/// The model to query, and the SHA-256 of its file (for evidence).
struct Target {
    model: Box<dyn Classifier>,
    sha256: Option<String>,
    describe: String,
}

fn open_target(
    t: &TargetArgs,
    sample_shape: &[usize],
    first_row: &[f32],
) -> anyhow::Result<Target> {
    match (&t.model, &t.endpoint) {
        (Some(path), _) => {
            let bytes = read_file(path, moat_attack::onnx::MAX_MODEL_BYTES)?;
            let sha = {
                use sha2::Digest as _;
                hex::encode(sha2::Sha256::digest(&bytes))
            };
            let m = moat_attack::onnx::OnnxClassifier::from_bytes(&bytes)
                .with_context(|| format!("cannot use `{}`", path.display()))?;
            Ok(Target {
                model: Box::new(m),
                sha256: Some(sha),
                describe: path.display().to_string(),
            })
        }
        (None, Some(url)) => {
            let mut cfg = match &t.endpoint_config {
                Some(p) => {
                    let text = String::from_utf8(read_file(p, 1 << 20)?)
                        .context("the endpoint config is not UTF-8")?;
                    toml::from_str::<EndpointConfig>(&text)
                        .with_context(|| format!("cannot use `{}`", p.display()))?
                }
                None => EndpointConfig::default(),
            };
            if let Some(v) = &t.endpoint_input {
                cfg.input = v.clone();
            }
            if let Some(v) = &t.endpoint_output {
                cfg.output = v.clone();
            }
            if let Some(v) = t.endpoint_batch {
                cfg.batch_size = v;
            }
            if let Some(v) = t.endpoint_concurrency {
                cfg.concurrency = v;
            }
            if let Some(v) = &t.endpoint_key_env {
                cfg.key_env = Some(v.clone());
            }
            let m = HttpClassifier::connect(url, cfg, sample_shape.to_vec(), first_row)
                .with_context(|| format!("cannot use the endpoint `{url}`"))?;
            Ok(Target {
                model: Box::new(m),
                sha256: None,
                describe: url.clone(),
            })
        }
        (None, None) => Err(UsageError(
            "name the classifier: --model FILE.onnx or --endpoint URL".into(),
        )
        .into()),
    }
}

fn threads(n: Option<usize>) -> anyhow::Result<rayon::ThreadPool> {
    let mut b = rayon::ThreadPoolBuilder::new();
    if let Some(n) = n {
        b = b.num_threads(n.max(1));
    }
    b.build().context("cannot start the worker threads")
}

fn progress(len: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{prefix} {bar:30} {pos}/{len} {elapsed_precise} eta {eta}",
    ) {
        bar.set_style(style);
    }
    bar.set_prefix(what.to_owned());
    bar
}

pub(crate) async fn run_attack(
    cmd: AttackCmd,
    env: &crate::context::Env,
) -> anyhow::Result<ExitCode> {
    match cmd.sub {
        Some(AttackSub::List) => {
            use strum::IntoEnumIterator as _;
            let rows: Vec<Vec<String>> = AttackKind::iter()
                .map(|k| vec![k.to_string(), k.description().to_owned()])
                .collect();
            output::table(&["attack", "what"], &rows);
            Ok(ExitCode::SUCCESS)
        }
        Some(AttackSub::Membership(a)) => membership(*a, env).await,
        None => attack(cmd.run, env).await,
    }
}

fn bounds_from_profile(
    path: &Path,
    ignore: &[String],
    dim: usize,
) -> anyhow::Result<moat_attack::oracle::Bounds> {
    let p = crate::data::load_profile(path)?;
    let cols: Vec<_> = p
        .columns
        .iter()
        .filter(|c| !ignore.contains(&c.name) && c.min.is_some() && c.max.is_some())
        .collect();
    if cols.len() != dim {
        return Err(UsageError(format!(
            "the profile has {} numeric columns ({}) and the model takes {dim} values; leave out non-inputs with --bounds-ignore",
            cols.len(),
            cols.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
        ))
        .into());
    }
    Ok(moat_attack::oracle::Bounds {
        lo: cols.iter().map(|c| c.min.unwrap_or(0.0) as f32).collect(),
        hi: cols.iter().map(|c| c.max.unwrap_or(1.0) as f32).collect(),
    })
}

async fn attack(a: AttackArgs, env: &crate::context::Env) -> anyhow::Result<ExitCode> {
    let kind = AttackKind::from_str(&a.attack).map_err(|_| {
        UsageError(format!(
            "unknown attack `{}`; known: hop-skip-jump, boundary, square, simba, noise-uniform, noise-gaussian, feature (`moat attack list`)",
            a.attack
        ))
    })?;
    let samples_path = a
        .samples
        .as_ref()
        .ok_or_else(|| UsageError("name the rows to attack: --samples X.npy|X.csv".into()))?;
    let gate = a
        .report
        .gate
        .as_deref()
        .map(gate::parse)
        .transpose()
        .map_err(UsageError)?;
    let x = array(samples_path)?;
    let rows = x.to_f32();
    let shape: Vec<usize> = x.shape.iter().skip(1).copied().collect();
    let first = rows.get(..x.row_len()).unwrap_or_default().to_vec();
    let target = open_target(&a.target, &shape, &first)?;
    let model = target.model.as_ref();
    if model.row_len() != x.row_len() {
        return Err(UsageError(format!(
            "the samples have {} values per row and the model takes {}",
            x.row_len(),
            model.row_len()
        ))
        .into());
    }
    let y = a.labels.as_deref().map(labels).transpose()?;
    let dim = model.row_len();
    let bounds = match &a.bounds_profile {
        Some(p) => bounds_from_profile(p, &a.bounds_ignore, dim)?,
        None => moat_attack::oracle::Bounds::uniform(
            dim,
            a.clip_min.unwrap_or(0.0),
            a.clip_max.unwrap_or(1.0),
        ),
    };
    let settings = Settings {
        kind,
        norm: match a.norm {
            NormArg::L2 => Norm::L2,
            NormArg::Linf => Norm::Linf,
        },
        max_queries: a.max_queries,
        epsilon: a.epsilon,
        seed: a.seed,
        target: a.target_class,
        bounds: Some(bounds),
    };
    let pool = threads(a.threads)?;
    let bar = progress(x.rows() as u64, &format!("{kind}"));
    let started = std::time::Instant::now();
    let report = pool
        .install(|| moat_attack::run(model, &rows, y.as_deref(), &settings, &|| bar.inc(1)))
        .map_err(|e| anyhow::anyhow!(e))?;
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    if let Some(path) = &a.save_adv {
        let adv = report.adversarial_rows();
        let mut shape = vec![adv.len()];
        shape.extend(&x.shape[1..]);
        let data: Vec<f32> = adv.iter().flat_map(|(_, r)| r.iter().copied()).collect();
        crate::data::write_atomic(path, &moat_attack::array::write_npy_f32(&shape, &data))?;
        output::note(&format!(
            "wrote {} adversarial examples to {}",
            adv.len(),
            path.display()
        ));
    }
    let mut value = serde_json::to_value(&report)?;
    value["model"] = serde_json::json!(target.describe);
    value["seconds"] = serde_json::json!(seconds);
    if matches!(a.report.format, DataFormat::Table) {
        let n = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.4}"));
        output::table(
            &[
                "attack",
                "norm",
                "samples",
                "clean acc",
                "robust acc",
                "success",
                "median l2",
                "median linf",
                "median queries",
            ],
            &[vec![
                report.attack.clone(),
                report.norm.clone(),
                report.samples.to_string(),
                format!("{:.4}", report.clean_accuracy),
                format!("{:.4}", report.robust_accuracy),
                format!("{:.4}", report.success_rate),
                n(report.median_l2),
                n(report.median_linf),
                n(report.median_queries),
            ]],
        );
    }
    let verdict_summary = format!(
        "{} ({}{}): success rate {:.3} over {} attacked samples, robust accuracy {:.3}, median L2 {}",
        report.attack,
        report.norm,
        report.epsilon.map(|e| format!(", epsilon {e}")).unwrap_or_default(),
        report.success_rate,
        report.attacked,
        report.robust_accuracy,
        report.median_l2.map_or("-".into(), |v| format!("{v:.4}"))
    );
    finish(
        &a.report,
        "attack",
        value,
        gate,
        verdict_summary,
        EvidenceKind::Attack,
        target.sha256.as_deref(),
        env,
    )
    .await
}

async fn membership(a: MembershipArgs, env: &crate::context::Env) -> anyhow::Result<ExitCode> {
    let gate = a
        .report
        .gate
        .as_deref()
        .map(gate::parse)
        .transpose()
        .map_err(UsageError)?;
    let train = array(&a.train)?;
    let hold = array(&a.holdout)?;
    let shape: Vec<usize> = train.shape.iter().skip(1).copied().collect();
    let rows = train.to_f32();
    let target = open_target(
        &a.target,
        &shape,
        rows.get(..train.row_len()).unwrap_or_default(),
    )?;
    let ty = a.train_labels.as_deref().map(labels).transpose()?;
    let hy = a.holdout_labels.as_deref().map(labels).transpose()?;
    let r = moat_attack::membership::run(
        target.model.as_ref(),
        &rows,
        ty.as_deref(),
        &hold.to_f32(),
        hy.as_deref(),
    )
    .map_err(|e| anyhow::anyhow!(e))?;
    if matches!(a.report.format, DataFormat::Table) {
        let rows: Vec<Vec<String>> = r
            .methods
            .iter()
            .map(|m| {
                vec![
                    m.method.to_owned(),
                    format!("{:.4}", m.auc),
                    format!("{:.4}", m.advantage),
                    format!("{:.4}", m.tpr_at_1pct_fpr),
                ]
            })
            .collect();
        output::table(&["method", "auc", "advantage", "tpr at 1% fpr"], &rows);
    }
    let summary = format!(
        "membership inference: AUC {:.3}, advantage {:.3} ({})",
        r.auc, r.advantage, r.best_method
    );
    let mut value = serde_json::to_value(&r)?;
    value["model"] = serde_json::json!(target.describe);
    finish(
        &a.report,
        "membership",
        value,
        gate,
        summary,
        EvidenceKind::Privacy,
        target.sha256.as_deref(),
        env,
    )
    .await
}

pub(crate) async fn explain(a: ExplainArgs, env: &crate::context::Env) -> anyhow::Result<ExitCode> {
    let gate = a
        .report
        .gate
        .as_deref()
        .map(gate::parse)
        .transpose()
        .map_err(UsageError)?;
    let bytes = read_file(&a.data, MAX_FILE)?;
    let x = Array::parse(&bytes).with_context(|| format!("cannot read `{}`", a.data.display()))?;
    let names = a.feature_names.clone().or_else(|| csv_header(&bytes));
    let y = labels(&a.labels)?;
    let shape: Vec<usize> = x.shape.iter().skip(1).copied().collect();
    let rows = x.to_f32();
    let target = open_target(
        &a.target,
        &shape,
        rows.get(..x.row_len()).unwrap_or_default(),
    )?;
    let s = moat_attack::explain::ExplainSettings {
        repeats: a.repeats,
        seed: a.seed,
        top: a.top,
        grid: 20,
        names,
    };
    let r = moat_attack::explain::run(target.model.as_ref(), &rows, &y, &s)
        .map_err(|e| anyhow::anyhow!(e))?;
    if let Some(p) = &a.html {
        crate::data::write_atomic(
            p,
            moat_attack::explain::html(&r, &format!("Explanation of {}", target.describe))
                .as_bytes(),
        )?;
        output::note(&format!("wrote {}", p.display()));
    }
    if matches!(a.report.format, DataFormat::Table) {
        let rows: Vec<Vec<String>> = r
            .importances
            .iter()
            .map(|i| {
                vec![
                    i.feature.clone(),
                    format!("{:.4}", i.importance),
                    format!("[{:.4}, {:.4}]", i.ci_low, i.ci_high),
                ]
            })
            .collect();
        output::table(&["feature", "importance", "95% interval"], &rows);
    }
    let top: Vec<String> = r
        .importances
        .iter()
        .take(3)
        .map(|i| format!("{} {:.3}", i.feature, i.importance))
        .collect();
    let summary = format!(
        "permutation importance over {} rows; top: {}",
        r.rows,
        top.join(", ")
    );
    let mut value = serde_json::to_value(&r)?;
    value["model"] = serde_json::json!(target.describe);
    finish(
        &a.report,
        "explain",
        value,
        gate,
        summary,
        EvidenceKind::Explain,
        target.sha256.as_deref(),
        env,
    )
    .await
}

/// Column names from a CSV header line.
fn csv_header(bytes: &[u8]) -> Option<Vec<String>> {
    if bytes.starts_with(b"\x93NUMPY") {
        return None;
    }
    let first = std::str::from_utf8(bytes).ok()?.lines().next()?;
    let fields: Vec<String> = first.split(',').map(|f| f.trim().to_owned()).collect();
    fields
        .iter()
        .any(|f| f.parse::<f64>().is_err())
        .then_some(fields)
}

pub(crate) async fn probe(a: ProbeArgs, env: &crate::context::Env) -> anyhow::Result<ExitCode> {
    use moat_attack::probes::{self, Category, ProbeSettings};
    let gate = a
        .report
        .gate
        .as_deref()
        .map(gate::parse)
        .transpose()
        .map_err(UsageError)?;
    let categories = a
        .category
        .iter()
        .map(|c| {
            Category::from_str(c).map_err(|_| {
                UsageError(format!("unknown category `{c}`; known: prompt-injection, jailbreak, system-prompt-leak, pii-leak, encoding"))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let system_prompt = match &a.system_prompt {
        Some(p) => Some(
            String::from_utf8(read_file(p, 1 << 20)?).context("the system prompt is not UTF-8")?,
        ),
        None => None,
    };
    let (_, suite) = probes::suite(&ProbeSettings {
        seed: a.seed,
        system_prompt,
        categories,
    });
    if a.list {
        let rows: Vec<Vec<String>> = suite
            .iter()
            .map(|p| vec![p.id.clone(), p.category.to_string()])
            .collect();
        output::table(&["probe", "category"], &rows);
        return Ok(ExitCode::SUCCESS);
    }
    let key = std::env::var(&a.api_key_env).ok().filter(|k| !k.is_empty());
    let http = Http::new(
        Duration::from_secs(a.timeout.max(1)),
        a.concurrency,
        3,
        key,
        Vec::new(),
    );
    let chat = OpenAiChat {
        http,
        url: OpenAiChat::url(&a.endpoint),
        model: a.model.clone(),
        max_tokens: a.max_tokens,
    };
    let scanner = moat_guard::Scanner::new();
    let pii = |text: &str| -> Vec<String> {
        let mut kinds: Vec<String> = scanner
            .scan(text)
            .iter()
            // The kinds planted in the record; a name alone is in the question itself.
            .filter(|f| f.kind == moat_guard::Kind::Pii && f.score >= 0.5)
            .filter(|f| {
                ["EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN"].contains(&f.entity)
            })
            .map(|f| f.entity.to_owned())
            .collect();
        kinds.sort();
        kinds.dedup();
        kinds
    };
    let pool = threads(Some(a.concurrency))?;
    let bar = progress(suite.len() as u64, "probes");
    let r = pool.install(|| probes::run(&chat, &suite, a.seed, &pii, &|| bar.inc(1)));
    bar.finish_and_clear();
    if r.errors == r.probes {
        let first = r
            .results
            .first()
            .and_then(|x| x.error.clone())
            .unwrap_or_default();
        anyhow::bail!("the endpoint answered no probe: {first}");
    }
    if matches!(a.report.format, DataFormat::Table) {
        let rows: Vec<Vec<String>> = r
            .categories
            .iter()
            .map(|(c, s)| {
                vec![
                    c.clone(),
                    s.probes.to_string(),
                    s.passed.to_string(),
                    format!("{:.3}", s.pass_rate),
                ]
            })
            .collect();
        output::table(&["category", "probes", "passed", "pass rate"], &rows);
        for x in r.results.iter().filter(|x| !x.passed) {
            output::line(format!(
                "FAIL {}: {}",
                x.id,
                x.evidence
                    .clone()
                    .or_else(|| x.error.clone())
                    .unwrap_or_default()
            ));
        }
    }
    let summary = format!(
        "LLM probes: {}/{} passed ({})",
        r.passed,
        r.probes,
        r.categories
            .iter()
            .map(|(c, s)| format!("{c} {:.2}", s.pass_rate))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let cases: Vec<(String, Option<String>)> = r
        .results
        .iter()
        .map(|x| {
            (
                x.id.clone(),
                (!x.passed).then(|| {
                    x.evidence
                        .clone()
                        .or_else(|| x.error.clone())
                        .unwrap_or_else(|| "failed".into())
                }),
            )
        })
        .collect();
    let mut value = serde_json::to_value(&r)?;
    value["endpoint"] = serde_json::json!(a.endpoint);
    value["model"] = serde_json::json!(a.model);
    finish_with_cases(
        &a.report,
        "probe",
        value,
        gate,
        summary,
        EvidenceKind::Probe,
        None,
        env,
        cases,
    )
    .await
}

#[expect(
    clippy::too_many_arguments,
    reason = "the shared tail of four commands"
)]
async fn finish(
    r: &ReportArgs,
    suite: &str,
    value: serde_json::Value,
    gate: Option<Vec<gate::Condition>>,
    summary: String,
    kind: EvidenceKind,
    sha256: Option<&str>,
    env: &crate::context::Env,
) -> anyhow::Result<ExitCode> {
    finish_with_cases(
        r,
        suite,
        value,
        gate,
        summary,
        kind,
        sha256,
        env,
        Vec::new(),
    )
    .await
}

/// Prints, gates, writes JUnit and records evidence.
#[expect(
    clippy::too_many_arguments,
    reason = "the shared tail of four commands"
)]
async fn finish_with_cases(
    r: &ReportArgs,
    suite: &str,
    mut value: serde_json::Value,
    gate: Option<Vec<gate::Condition>>,
    summary: String,
    kind: EvidenceKind,
    sha256: Option<&str>,
    env: &crate::context::Env,
    mut cases: Vec<(String, Option<String>)>,
) -> anyhow::Result<ExitCode> {
    let outcomes = gate.as_deref().map(|g| gate::check(&value, g));
    let failed = outcomes
        .as_ref()
        .is_some_and(|o| o.iter().any(|c| !c.passed));
    if let Some(o) = &outcomes {
        value["gate"] = serde_json::json!({ "passed": !failed, "conditions": o });
    }
    if matches!(r.format, DataFormat::Json) {
        output::json(&value)?;
    }
    if let Some(p) = &r.output {
        crate::data::write_atomic(p, serde_json::to_string_pretty(&value)?.as_bytes())?;
    }
    for c in outcomes.iter().flatten() {
        let actual = c.actual.map_or("missing".to_owned(), |v| format!("{v}"));
        if matches!(r.format, DataFormat::Table) || !c.passed {
            output::note(&format!(
                "gate {} {}: {actual}",
                if c.passed { "passed" } else { "FAILED" },
                c.condition
            ));
        }
        cases.push((
            format!("gate {}", c.condition),
            (!c.passed).then(|| format!("{} is {actual}", c.condition)),
        ));
    }
    if let Some(p) = &r.junit {
        if cases.is_empty() {
            cases.push((summary.clone(), None));
        }
        crate::data::write_atomic(p, gate::junit(&format!("moat {suite}"), &cases).as_bytes())?;
    }
    if let Some(model_ref) = &r.model_ref {
        let app = env.app().await?;
        let cx = env.ctx(&app).await?;
        let d = app.show_model(&cx, model_ref).await?;
        if let Some(sha) = sha256 {
            if !d.version.artifacts.iter().any(|x| x.sha256 == sha) {
                anyhow::bail!(
                    "the model file (sha256 {sha}) is not an artifact of {model_ref}; register it as a new version first"
                );
            }
        }
        let verdict = match (&outcomes, failed) {
            (_, true) => Verdict::Fail,
            (Some(_), false) => Verdict::Pass,
            (None, _) => Verdict::Warn,
        };
        let e = app
            .add_evidence(
                &cx,
                NewEvidence {
                    subject_kind: "model".into(),
                    name: d.version.name.clone(),
                    version: d.version.version.clone(),
                    kind,
                    verdict,
                    summary,
                    report: value,
                },
            )
            .await?;
        app.store().close().await;
        output::note(&format!("recorded evidence {} for model {model_ref}", e.id));
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
