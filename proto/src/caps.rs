//! Capability IDs, as BuildKit names them.
//!
//! The daemon announces which LLB and gateway capabilities it supports in
//! its `Ping` answer; a Definition records, per op, the LLB capabilities that
//! op needs so an older daemon can refuse cleanly instead of misreading it.
//! Strings come from BuildKit's `solver/pb/caps.go` and
//! `frontend/gateway/pb/caps.go`. Only caps that BuildKit v0.13 (Docker 26)
//! knows are listed: the daemon rejects a Definition naming a cap it has
//! never heard of, so naming a newer one would break older daemons.

/// LLB capabilities (`solver/pb/caps.go`).
pub mod llb {
    pub const SOURCE_IMAGE: &str = "source.image";
    pub const SOURCE_IMAGE_RESOLVE_MODE: &str = "source.image.resolvemode";
    pub const SOURCE_LOCAL: &str = "source.local";
    pub const SOURCE_LOCAL_UNIQUE: &str = "source.local.unique";
    pub const SOURCE_LOCAL_SESSION_ID: &str = "source.local.sessionid";
    pub const SOURCE_LOCAL_INCLUDE_PATTERNS: &str = "source.local.includepatterns";
    pub const SOURCE_LOCAL_FOLLOW_PATHS: &str = "source.local.followpaths";
    pub const SOURCE_LOCAL_EXCLUDE_PATTERNS: &str = "source.local.excludepatterns";
    pub const SOURCE_LOCAL_SHARED_KEY_HINT: &str = "source.local.sharedkeyhint";
    pub const SOURCE_LOCAL_DIFFER: &str = "source.local.differ";
    pub const SOURCE_GIT: &str = "source.git";
    pub const SOURCE_GIT_KEEP_DIR: &str = "source.git.keepgitdir";
    pub const SOURCE_GIT_FULL_URL: &str = "source.git.fullurl";
    pub const SOURCE_HTTP: &str = "source.http";
    pub const SOURCE_HTTP_CHECKSUM: &str = "source.http.checksum";
    pub const SOURCE_HTTP_PERM: &str = "source.http.perm";
    pub const SOURCE_OCI_LAYOUT: &str = "source.ocilayout";

    pub const EXEC_META_BASE: &str = "exec.meta.base";
    /// BuildKit 0.17 and later; never required by an op, only looked for
    /// in the daemon's list (`canonical::Encoding::of_daemon`).
    pub const EXEC_VALID_EXIT_CODE: &str = "exec.validexitcode";
    pub const EXEC_META_NETWORK: &str = "exec.meta.network";
    pub const EXEC_META_SECURITY: &str = "exec.meta.security";
    pub const EXEC_MOUNT_BIND: &str = "exec.mount.bind";
    /// A writable bind mount whose changes are discarded.
    pub const EXEC_MOUNT_BIND_RW_NO_OUTPUT: &str = "exec.mount.bind.readwrite-nooutput";
    pub const EXEC_MOUNT_CACHE: &str = "exec.mount.cache";
    pub const EXEC_MOUNT_CACHE_SHARING: &str = "exec.mount.cache.sharing";
    pub const EXEC_MOUNT_SELECTOR: &str = "exec.mount.selector";
    pub const EXEC_MOUNT_TMPFS: &str = "exec.mount.tmpfs";
    pub const EXEC_MOUNT_TMPFS_SIZE: &str = "exec.mount.tmpfs.size";
    pub const EXEC_MOUNT_SECRET: &str = "exec.mount.secret";
    pub const EXEC_MOUNT_SSH: &str = "exec.mount.ssh";
    pub const EXEC_SECRET_ENV: &str = "exec.secretenv";

    pub const FILE_BASE: &str = "file.base";
    pub const FILE_COPY_INCLUDE_EXCLUDE_PATTERNS: &str = "file.copy.includeexcludepatterns";

    pub const CONSTRAINTS: &str = "constraints";
    pub const PLATFORM: &str = "platform";
    pub const META_IGNORE_CACHE: &str = "meta.ignorecache";
    pub const META_DESCRIPTION: &str = "meta.description";
    pub const MERGE_OP: &str = "mergeop";
    pub const DIFF_OP: &str = "diffop";
}

/// Gateway capabilities (`frontend/gateway/pb/caps.go`).
pub mod gateway {
    pub const SOLVE_BASE: &str = "solve.base";
    pub const RESOLVE_IMAGE: &str = "resolveimage";
    pub const READ_FILE: &str = "readfile";
    pub const READ_DIR: &str = "readdir";
    pub const STAT_FILE: &str = "statfile";
    pub const RETURN_RESULT: &str = "return";
    pub const RETURN_MAP: &str = "returnmap";
    pub const FRONTEND_INPUTS: &str = "frontend.inputs";
    pub const WARNINGS: &str = "gateway.warnings";
}

/// Frontend capabilities, announced by the frontend image's
/// `moby.buildkit.frontend.caps` label: the daemon refuses to start a
/// frontend for a request (`--build-context`, `--print`) whose caps the
/// label lacks.
pub mod frontend {
    pub const IMAGE_LABEL: &str = "moby.buildkit.frontend.caps";
    pub const INPUTS: &str = "moby.buildkit.frontend.inputs";
    pub const SUBREQUESTS: &str = "moby.buildkit.frontend.subrequests";
    pub const CONTEXTS: &str = "moby.buildkit.frontend.contexts";
}
