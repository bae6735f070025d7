//! Rules about what a build fetches: images, downloads and repositories
//! that should be pinned so that the same spec builds the same image.

use crate::lint::{Context, Found, Rule};
use crate::reference::ImageRef;
use crate::resolve::Source;
use crate::spec::{AddSource, StepKind};

pub const UNPINNED_IMAGE: Rule = Rule {
    name: "UnpinnedImage",
    description: "Images should be named with a version tag or a digest, not `latest`",
    check: unpinned_image,
};

pub const ADD_WITHOUT_CHECKSUM: Rule = Rule {
    name: "AddWithoutChecksum",
    description: "A downloaded file should be checked against a `checksum`",
    check: add_without_checksum,
};

pub const GIT_WITHOUT_REF: Rule = Rule {
    name: "GitWithoutRef",
    description: "A git repository should be added at a tag or commit (`ref`)",
    check: git_without_ref,
};

/// Every `from:` (of a stage, a copy or a mount) naming an image without
/// a digest and without a tag other than `latest`, after args.
fn unpinned_image(cx: &Context) -> Vec<Found> {
    let mut found = Vec::new();
    for stage in cx.stages() {
        for reference in stage.references() {
            if !matches!(cx.source(reference), Source::Image(_)) {
                continue;
            }
            let Ok(image) = ImageRef::parse(&reference.value) else {
                continue;
            };
            let message = match (&image.digest, image.tag.as_deref()) {
                (Some(_), _) => continue,
                (None, None) => format!(
                    "image `{}` has no tag, so it is `latest`: whatever that is when the build runs",
                    reference.value
                ),
                (None, Some("latest")) => format!(
                    "image `{}` changes whenever a new version is published",
                    reference.value
                ),
                (None, Some(_)) => continue,
            };
            let name = reference.value.split(['@']).next().unwrap_or_default();
            let name = name.strip_suffix(":latest").unwrap_or(name);
            found.push(Found::new(
                reference.pos,
                message,
                format!("name a version (`{name}:<version>`), or pin a digest (`{name}:<version>@sha256:…`)"),
            ));
        }
    }
    found
}

fn add_without_checksum(cx: &Context) -> Vec<Found> {
    adds(cx)
        .filter_map(|source| match source {
            AddSource::Url {
                url,
                checksum: None,
            } => Some(Found::new(
                url.pos,
                format!("`{}` is added without a `checksum`", url.value),
                "add `checksum: sha256:<hex>` (`sha256sum` of the file): a changed or tampered \
                 download then fails the build instead of entering the image",
            )),
            _ => None,
        })
        .collect()
}

fn git_without_ref(cx: &Context) -> Vec<Found> {
    adds(cx)
        .filter_map(|source| match source {
            AddSource::Git {
                remote,
                reference: None,
                ..
            } => Some(Found::new(
                remote.pos,
                format!(
                    "`{}` is added at whatever its default branch is when the build runs",
                    remote.value
                ),
                "add `ref:` with a tag or a commit",
            )),
            _ => None,
        })
        .collect()
}

fn adds<'a>(cx: &'a Context) -> impl Iterator<Item = &'a AddSource> + 'a {
    cx.stages().flat_map(|s| {
        s.leaf_steps()
            .into_iter()
            .filter_map(|step| match &step.kind {
                StepKind::Add(add) => Some(&add.source),
                _ => None,
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::rules::testing::{at, run};

    #[test]
    fn images_without_a_version() {
        let yaml = "version: 1\nargs: {T: latest}\nstages:\n  a:\n    from: busybox\n  b:\n    from: debian:${T}\n    steps:\n      - copy: /x\n        from: alpine:3.20\n      - copy: /y\n        from: a\n  c:\n    from: debian@sha256:0000000000000000000000000000000000000000000000000000000000000000\n  d:\n    from: scratch\n    steps:\n      - run: \"true\"\n        mounts: [{type: bind, from: \"node:latest\", target: /n}]\n";
        let found = run(&UNPINNED_IMAGE, yaml);
        assert_eq!(at(&found), vec!["5:11", "7:11", "19:37"]);
        assert!(
            found[1].message.contains("`debian:latest`"),
            "{}",
            found[1].message
        );
    }

    #[test]
    fn adds_without_checksum_or_ref() {
        let yaml = "version: 1\nstages:\n  a:\n    from: scratch\n    steps:\n      - add: {url: \"https://example.com/x.tgz\"}\n      - add: {url: \"https://example.com/y.tgz\", checksum: \"sha256:0000000000000000000000000000000000000000000000000000000000000000\"}\n      - add: {git: \"https://example.com/r.git\"}\n      - add: {git: \"https://example.com/r.git\", ref: v1}\n";
        assert_eq!(at(&run(&ADD_WITHOUT_CHECKSUM, yaml)), vec!["6:20"]);
        assert_eq!(at(&run(&GIT_WITHOUT_REF, yaml)), vec!["8:20"]);
    }
}
