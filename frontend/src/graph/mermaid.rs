//! The graph as a Mermaid flowchart (GitHub and many editors draw it).

use std::collections::BTreeMap;

use super::{Graph, NodeKind};

pub fn mermaid(g: &Graph) -> String {
    // Mermaid ids are plain words: number the nodes.
    let ids: BTreeMap<&str, String> = g
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), format!("n{i}")))
        .collect();
    let mut out = String::from("flowchart LR\n");
    let in_group: Vec<&String> = g.groups.iter().flat_map(|(_, v)| v).collect();
    for (name, variants) in &g.groups {
        out.push_str(&format!(
            "  subgraph {}[\"matrix {}\"]\n",
            ids_key(name),
            text(name)
        ));
        for v in variants {
            if let Some(node) = g.nodes.iter().find(|n| &n.id == v) {
                out.push_str(&format!(
                    "    {}\n",
                    node_line(&ids[v.as_str()], &node.label, node.kind)
                ));
            }
        }
        out.push_str("  end\n");
    }
    for node in g.nodes.iter().filter(|n| !in_group.contains(&&n.id)) {
        out.push_str(&format!(
            "  {}\n",
            node_line(&ids[node.id.as_str()], &node.label, node.kind)
        ));
    }
    for e in &g.edges {
        let arrow = if e.base { "-->" } else { "-.->" };
        out.push_str(&format!(
            "  {} {arrow}|\"{}\"| {}\n",
            ids[e.from.as_str()],
            text(&e.label),
            ids[e.to.as_str()]
        ));
    }
    out.push_str("  classDef needed fill:#d2e3fc,stroke:#1a73e8\n");
    out.push_str("  classDef unneeded fill:#fff,stroke:#9aa0a6,color:#9aa0a6\n");
    out.push_str("  classDef external fill:#f1f3f4,stroke:#5f6368\n");
    out
}

fn node_line(id: &str, label: &[String], kind: NodeKind) -> String {
    let class = match kind {
        NodeKind::Needed => "needed",
        NodeKind::Unneeded => "unneeded",
        NodeKind::External => "external",
    };
    let label: Vec<String> = label.iter().map(|l| text(l)).collect();
    format!("{id}[\"{}\"]:::{class}", label.join("<br/>"))
}

fn ids_key(name: &str) -> String {
    format!(
        "m_{}",
        name.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
    )
}

/// Text inside Mermaid's quotes: `"` as its entity.
fn text(s: &str) -> String {
    s.replace('"', "#quot;")
}
