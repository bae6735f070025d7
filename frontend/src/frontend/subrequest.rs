//! Subrequests: questions about the build instead of a build
//! (`docker buildx build --call targets|outline|check`, `--print` on
//! buildx 0.13). Answers use the JSON shapes of BuildKit's `frontend/subrequests`
//! packages, so buildx prints them as it does for Dockerfiles.

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::{json, Value};

use super::FrontendError;
use crate::compile::{self, CompileOptions};
use crate::lint;
use crate::spec::{LineRange, Spec, SpecError};

pub const DESCRIBE: &str = "frontend.subrequests.describe";
pub const OUTLINE: &str = "frontend.outline";
pub const TARGETS: &str = "frontend.targets";
pub const LINT: &str = "frontend.lint";
const VERSION: &str = "1.0.0";

/// The metadata answering `request`, or `None` for an unknown request.
/// `ignore`: the context's `.dockerignore` patterns, which lint checks
/// copies against.
pub fn answer(
    request: &str,
    spec: &Spec,
    options: &CompileOptions,
    ignore: &[String],
) -> Result<Option<BTreeMap<String, Vec<u8>>>, FrontendError> {
    let (json, text) = match request {
        DESCRIBE => describe(),
        TARGETS => targets(spec),
        OUTLINE => outline(spec, options)?,
        LINT => {
            let answer = match lint::lint(spec, options, ignore) {
                Ok(report) => lint::buildkit_results(spec, &report),
                Err(error) => lint::buildkit_spec_error(&error, &spec.text),
            };
            return Ok(Some(lint_metadata(answer)));
        }
        _ => return Ok(None),
    };
    Ok(Some(metadata(&json, text, VERSION)))
}

/// The lint answer for a spec that cannot be read.
pub fn lint_error(error: &SpecError, text: &str) -> BTreeMap<String, Vec<u8>> {
    lint_metadata(lint::buildkit_spec_error(error, text))
}

/// A lint result also says how buildx should exit (`result.statuscode`):
/// 1 when there are warnings or an error, as for a Dockerfile.
fn lint_metadata(answer: lint::LintAnswer) -> BTreeMap<String, Vec<u8>> {
    let mut metadata = metadata(&answer.json, answer.text, lint::LINT_VERSION);
    metadata.insert(
        "result.statuscode".to_string(),
        answer.status.to_string().into_bytes(),
    );
    metadata
}

fn metadata(json: &Value, text: String, version: &str) -> BTreeMap<String, Vec<u8>> {
    let mut metadata = BTreeMap::new();
    metadata.insert(
        "result.json".to_string(),
        serde_json::to_vec_pretty(json).expect("plain JSON"),
    );
    metadata.insert("result.txt".to_string(), text.into_bytes());
    metadata.insert("version".to_string(), version.as_bytes().to_vec());
    metadata
}

fn describe() -> (Value, String) {
    let request = |name: &str, description: &str, opts: Value| {
        let mut metadata = vec![
            json!({"name": "result.json", "description": ""}),
            json!({"name": "result.txt", "description": ""}),
        ];
        if name == LINT {
            metadata.push(json!({"name": "result.statuscode", "description": ""}));
        }
        json!({
            "name": name, "version": VERSION, "type": "rpc", "description": description,
            "opts": opts, "inputs": null, "refs": null, "metadata": metadata,
        })
    };
    let list = vec![
        request(
            OUTLINE,
            "List all parameters current build target supports",
            json!([{"name": "target", "description": "Target build stage"}]),
        ),
        request(
            TARGETS,
            "List all targets current build supports",
            json!([]),
        ),
        request(LINT, "Lint a build spec", json!([])),
        request(DESCRIBE, "List available subrequest types", json!([])),
    ];
    let text = table(
        &["NAME", "VERSION", "DESCRIPTION"],
        list.iter()
            .map(|r| {
                vec![
                    r["name"]
                        .as_str()
                        .unwrap_or("")
                        .trim_start_matches("frontend.")
                        .to_string(),
                    VERSION.to_string(),
                    r["description"].as_str().unwrap_or("").to_string(),
                ]
            })
            .collect(),
    );
    (Value::Array(list), text)
}

fn targets(spec: &Spec) -> (Value, String) {
    let default = spec.default_target();
    let list: Vec<Value> = spec
        .stages
        .iter()
        .map(|s| {
            let mut t =
                json!({"name": s.name, "base": s.from.value, "location": location(s.lines)});
            if s.name == default {
                t["default"] = json!(true);
            }
            if let Some(d) = &s.description {
                t["description"] = json!(d);
            }
            if let Some(p) = &s.platform {
                t["platform"] = json!(p.value);
            }
            t
        })
        .collect();
    let rows = spec
        .stages
        .iter()
        .map(|s| {
            let name = if s.name == default {
                format!("{} (default)", s.name)
            } else {
                s.name.clone()
            };
            vec![name, s.description.clone().unwrap_or_default()]
        })
        .collect();
    (
        json!({"targets": list, "sources": [sources(spec)]}),
        table(&["TARGET", "DESCRIPTION"], rows),
    )
}

fn outline(spec: &Spec, options: &CompileOptions) -> Result<(Value, String), FrontendError> {
    let o = compile::outline(spec, options).map_err(|e| FrontendError::spec(e, &spec.text))?;
    let args: Vec<Value> = o
        .args
        .iter()
        .map(|a| json!({"name": a.name, "value": a.value, "location": location(LineRange { start: a.declared_at.line, end: a.declared_at.line })}))
        .collect();
    let mounts = |m: &BTreeMap<String, (bool, LineRange)>| -> Vec<Value> {
        m.iter().map(|(id, (required, lines))| json!({"name": id, "required": required, "location": location(*lines)})).collect()
    };
    let mut json = json!({"name": o.target, "args": args, "secrets": mounts(&o.secrets), "ssh": mounts(&o.ssh), "sources": [sources(spec)]});
    if let Some(d) = &o.description {
        json["description"] = json!(d);
    }
    let mut text = format!("TARGET:\t{}\n", o.target);
    if let Some(d) = &o.description {
        text.push_str(&format!("DESCRIPTION:\t{d}\n"));
    }
    if !o.args.is_empty() {
        text.push('\n');
        text.push_str(&table(
            &["BUILD ARG", "VALUE"],
            o.args
                .iter()
                .map(|a| vec![a.name.clone(), a.value.clone()])
                .collect(),
        ));
    }
    for (title, list) in [("SECRET", &o.secrets), ("SSH", &o.ssh)] {
        if !list.is_empty() {
            text.push('\n');
            text.push_str(&table(
                &[title, "REQUIRED"],
                list.iter()
                    .map(|(id, (r, _))| {
                        vec![id.clone(), if *r { "true".into() } else { String::new() }]
                    })
                    .collect(),
            ));
        }
    }
    Ok((json, text))
}

/// `pb.Location` as Go's JSON writes it (1-based lines).
fn location(lines: LineRange) -> Value {
    json!({"ranges": [{"start": {"line": lines.start}, "end": {"line": lines.end}}]})
}

fn sources(spec: &Spec) -> String {
    base64::engine::general_purpose::STANDARD.encode(&spec.text)
}

/// Left-aligned columns separated by at least three spaces, like Go's
/// tabwriter output that buildx prints.
fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| -> String {
        let last = cells.len() - 1;
        let mut out: String = cells
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                if i == last {
                    c
                } else {
                    format!("{c:<width$}", width = widths[i] + 3)
                }
            })
            .collect();
        out.truncate(out.trim_end().len());
        out.push('\n');
        out
    };
    let mut text = line(header.iter().map(|h| h.to_string()).collect());
    for row in rows {
        text.push_str(&line(row));
    }
    text
}
