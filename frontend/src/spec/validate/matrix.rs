//! A stage's `matrix`: one stage per combination of values, each seeing
//! its values as args.

use serde_saphyr::Spanned;

use super::names::{in_name_characters, is_identifier};
use super::pos;
use crate::spec::args::BUILTIN_ARGS;
use crate::spec::error::Problem;
use crate::spec::model::*;
use crate::spec::syntax;

/// More variants than a build should fan out to at once (each is a stage
/// that builds in parallel with the others).
pub const MAX_VARIANTS: usize = 64;

/// A checked `matrix:`: its keys with their values, in file order.
pub(super) struct MatrixKeys {
    pub pos: Pos,
    pub keys: Vec<(String, Vec<String>)>,
}

pub(super) fn read(m: Spanned<syntax::Matrix>, args: &[ArgDecl]) -> Result<MatrixKeys, Problem> {
    let at = pos(&m);
    if m.value.0.is_empty() {
        return Err(Problem::new(at, "`matrix` is empty")
            .hint("give each name a list of values, e.g. `matrix: {GOARCH: [amd64, \"386\"]}`"));
    }
    let mut keys = Vec::new();
    let mut variants: usize = 1;
    for (key, values) in m.value.0 {
        let key_pos = pos(&key);
        if !is_identifier(&key.value) {
            return Err(
                Problem::new(key_pos, format!("invalid matrix name `{}`", key.value)).hint(
                    "matrix names are args: letters, digits and `_`, not starting with a digit",
                ),
            );
        }
        if BUILTIN_ARGS.contains(&key.value.as_str()) || args.iter().any(|a| a.name == key.value) {
            return Err(Problem::new(
                key_pos,
                format!(
                    "`{}` is already an arg; a matrix name must be new",
                    key.value
                ),
            )
            .hint("rename the matrix entry, or remove the arg from `args:`"));
        }
        let values_pos = pos(&values);
        let list: Vec<String> = values.value.into_iter().map(|v| v.0).collect();
        if list.is_empty() || list.iter().any(String::is_empty) {
            return Err(Problem::new(
                values_pos,
                format!("matrix `{}` needs a list of non-empty values", key.value),
            )
            .hint("e.g. `[amd64, \"386\"]`"));
        }
        variants = variants.saturating_mul(list.len());
        keys.push((key.value, list));
    }
    if variants > MAX_VARIANTS {
        return Err(Problem::new(
            at,
            format!("the matrix makes {variants} stages; at most {MAX_VARIANTS} are allowed"),
        )
        .hint("use fewer values, or split the stage"));
    }
    Ok(MatrixKeys { pos: at, keys })
}

/// The stages `stage` stands for: one per combination, the first key
/// varying slowest.
pub(super) fn expand(stage: Stage, m: &MatrixKeys) -> Result<(Vec<Stage>, Matrix), Problem> {
    let mut combinations: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for (key, values) in &m.keys {
        combinations = combinations
            .into_iter()
            .flat_map(|done| {
                values.iter().map(move |v| {
                    let mut next = done.clone();
                    next.push((key.clone(), v.clone()));
                    next
                })
            })
            .collect();
    }
    let mut stages: Vec<Stage> = Vec::with_capacity(combinations.len());
    for values in combinations {
        let words: Vec<String> = values.iter().map(|(_, v)| in_name_characters(v)).collect();
        let name = format!("{}-{}", stage.name, words.join("-"));
        if let Some(same) = stages.iter().find(|s| s.name == name) {
            return Err(Problem::new(
                m.pos,
                format!("two combinations of the matrix are both named `{name}`"),
            )
            .hint(format!(
                "values that differ only in case or punctuation make the same stage name ({:?} and {:?})",
                same.variant.as_ref().map(|v| &v.values),
                values
            )));
        }
        let mut variant = stage.clone();
        variant.name = name;
        let shown: Vec<String> = values.iter().map(|(k, v)| format!("{k}={v}")).collect();
        variant.description = Some(match &stage.description {
            Some(d) => format!("{d} ({})", shown.join(", ")),
            None => shown.join(", "),
        });
        variant.variant = Some(Variant {
            matrix: stage.name.clone(),
            values,
        });
        stages.push(variant);
    }
    let matrix = Matrix {
        name: stage.name,
        pos: stage.pos,
        variants: stages.iter().map(|s| s.name.clone()).collect(),
    };
    Ok((stages, matrix))
}
