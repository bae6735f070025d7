//! The graph as Graphviz DOT (`dot -Tsvg` draws it).

use super::{Graph, NodeKind};

pub fn dot(g: &Graph) -> String {
    let mut out = String::from(
        "digraph stagecraft {\n  rankdir=LR;\n  graph [fontname=\"Helvetica\", fontsize=11];\n  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=11];\n  edge [fontname=\"Helvetica\", fontsize=9];\n",
    );
    for (i, (name, variants)) in g.groups.iter().enumerate() {
        out.push_str(&format!(
            "  subgraph cluster_{i} {{\n    label={};\n    style=dashed;\n    color=\"#5f6368\";\n",
            quote(&format!("matrix {name}"))
        ));
        for v in variants {
            out.push_str(&format!("    {};\n", quote(v)));
        }
        out.push_str("  }\n");
    }
    for node in &g.nodes {
        let style = match node.kind {
            NodeKind::Needed => "fillcolor=\"#d2e3fc\", color=\"#1a73e8\"",
            NodeKind::Unneeded => "fillcolor=\"#ffffff\", color=\"#9aa0a6\", fontcolor=\"#9aa0a6\"",
            NodeKind::External => "shape=component, fillcolor=\"#f1f3f4\", color=\"#5f6368\"",
        };
        let label = node.label.join("\n");
        out.push_str(&format!(
            "  {} [label={}, {style}];\n",
            quote(&node.id),
            quote(&label)
        ));
    }
    for e in &g.edges {
        let style = if e.base { "" } else { ", style=dashed" };
        out.push_str(&format!(
            "  {} -> {} [label={}{style}];\n",
            quote(&e.from),
            quote(&e.to),
            quote(&e.label)
        ));
    }
    out.push_str("}\n");
    out
}

/// A DOT string: quotes and backslashes escaped, line breaks as `\n`.
fn quote(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n");
    format!("\"{escaped}\"")
}
