//! A readable JSON view of a marshalled Definition, for people and for
//! snapshot tests: one entry per op with its digest, name and inputs.

use serde_json::{json, Map, Value};
use stagecraft_proto::{pb, Message};

use super::marshal::digest_of;

/// Decodes every op of `def`; an op that does not decode is reported as
/// such instead of failing the whole dump.
pub fn dump(def: &pb::Definition) -> Value {
    let ops: Vec<Value> = def
        .def
        .iter()
        .map(|bytes| {
            let digest = digest_of(bytes);
            let mut entry = Map::new();
            entry.insert("digest".into(), json!(digest));
            match pb::Op::decode(bytes.as_slice()) {
                Ok(op) => describe(&op, &mut entry),
                Err(e) => {
                    entry.insert("error".into(), json!(e.to_string()));
                }
            }
            if let Some(meta) = def.metadata.get(&digest) {
                if let Some(name) = meta.description.get("llb.customname") {
                    entry.insert("name".into(), json!(name));
                }
                if meta.ignore_cache {
                    entry.insert("ignore_cache".into(), json!(true));
                }
                entry.insert("caps".into(), json!(meta.caps.keys().collect::<Vec<_>>()));
            }
            if let Some(locations) = def.source.as_ref().and_then(|s| s.locations.get(&digest)) {
                let lines: Vec<Value> = locations
                    .locations
                    .iter()
                    .flat_map(|l| &l.ranges)
                    .map(|r| {
                        json!([
                            r.start.as_ref().map_or(0, |p| p.line),
                            r.end.as_ref().map_or(0, |p| p.line)
                        ])
                    })
                    .collect();
                entry.insert("lines".into(), json!(lines));
            }
            Value::Object(entry)
        })
        .collect();
    json!({ "ops": ops })
}

fn describe(op: &pb::Op, entry: &mut Map<String, Value>) {
    let inputs: Vec<String> = op
        .inputs
        .iter()
        .map(|i| format!("{}:{}", i.digest, i.index))
        .collect();
    entry.insert("inputs".into(), json!(inputs));
    if let Some(p) = &op.platform {
        let mut text = format!("{}/{}", p.os, p.architecture);
        if !p.variant.is_empty() {
            text = format!("{text}/{}", p.variant);
        }
        entry.insert("platform".into(), json!(text));
    }
    let (kind, body) = match &op.op {
        None => ("result", json!(null)),
        Some(pb::op::Op::Source(s)) => (
            "source",
            json!({"identifier": s.identifier, "attrs": s.attrs}),
        ),
        Some(pb::op::Op::Exec(e)) => ("exec", exec(e)),
        Some(pb::op::Op::File(f)) => (
            "file",
            json!(f.actions.iter().map(file_action).collect::<Vec<_>>()),
        ),
        Some(pb::op::Op::Merge(m)) => (
            "merge",
            json!(m.inputs.iter().map(|i| i.input).collect::<Vec<_>>()),
        ),
        Some(pb::op::Op::Diff(d)) => (
            "diff",
            json!({
                "lower": d.lower.map(|l| l.input),
                "upper": d.upper.map(|u| u.input),
            }),
        ),
        Some(pb::op::Op::Build(_)) => ("build", json!(null)),
    };
    entry.insert("kind".into(), json!(kind));
    if !body.is_null() {
        entry.insert(kind.into(), body);
    }
}

fn exec(e: &pb::ExecOp) -> Value {
    let meta = e.meta.clone().unwrap_or_default();
    let mounts: Vec<Value> = e
        .mounts
        .iter()
        .map(|m| {
            let kind = pb::MountType::try_from(m.mount_type).map_or("unknown", |t| t.as_str_name());
            let mut v = json!({"dest": m.dest, "type": kind, "input": m.input, "output": m.output});
            if !m.selector.is_empty() {
                v["selector"] = json!(m.selector);
            }
            if m.readonly {
                v["readonly"] = json!(true);
            }
            if let Some(c) = &m.cache_opt {
                v["cache"] = json!({"id": c.id, "sharing": c.sharing});
            }
            if let Some(s) = &m.secret_opt {
                v["secret"] =
                    json!({"id": s.id, "mode": format!("{:o}", s.mode), "optional": s.optional});
            }
            if let Some(s) = &m.ssh_opt {
                v["ssh"] = json!({"id": s.id, "optional": s.optional});
            }
            if let Some(t) = &m.tmpfs_opt {
                v["tmpfs_size"] = json!(t.size);
            }
            v
        })
        .collect();
    json!({
        "args": meta.args,
        "env": meta.env,
        "cwd": meta.cwd,
        "user": meta.user,
        "network": e.network,
        "security": e.security,
        "mounts": mounts,
        "secret_env": e.secretenv.iter().map(|s| json!({"id": s.id, "name": s.name})).collect::<Vec<_>>(),
        "extra_hosts": meta.extra_hosts.iter().map(|h| format!("{}={}", h.host, h.ip)).collect::<Vec<_>>(),
    })
}

fn file_action(a: &pb::FileAction) -> Value {
    use pb::file_action::Action as A;
    let mut v = json!({"input": a.input, "secondary_input": a.secondary_input, "output": a.output});
    match &a.action {
        Some(A::Copy(c)) => {
            v["copy"] = json!({
                "src": c.src, "dest": c.dest, "include": c.include_patterns, "exclude": c.exclude_patterns,
                "mode": c.mode, "owner": c.owner.as_ref().map(|o| format!("{o:?}")),
            });
        }
        Some(A::Mkdir(m)) => v["mkdir"] = json!({"path": m.path, "mode": format!("{:o}", m.mode)}),
        Some(A::Mkfile(m)) => {
            v["mkfile"] =
                json!({"path": m.path, "mode": format!("{:o}", m.mode), "bytes": m.data.len()})
        }
        Some(A::Rm(r)) => v["rm"] = json!({"path": r.path}),
        Some(A::Symlink(s)) => v["symlink"] = json!({"old": s.oldpath, "new": s.newpath}),
        None => {}
    }
    v
}
