//! Which container (or systemd unit) a process belongs to, read from the text
//! of `/proc/PID/cgroup`: docker, containerd (CRI and plain), CRI-O, podman,
//! the pod UID of a Kubernetes `kubepods` path, and systemd units.
//!
//! Owns: `CgroupOrigin`, `Container`, `Runtime` and the pure parser
//! `origin_from_cgroup`. Must not: read files; the caller passes the text.

/// A container runtime whose cgroup names tcpwatch recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Runtime {
    Docker,
    Containerd,
    CriO,
    Podman,
}

impl Runtime {
    /// Lowercase name, as in JSON: `docker`, `containerd`, `cri-o`, `podman`.
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Docker => "docker",
            Runtime::Containerd => "containerd",
            Runtime::CriO => "cri-o",
            Runtime::Podman => "podman",
        }
    }
}

/// A container, by runtime and full ID (64 hex digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Container {
    pub runtime: Runtime,
    pub id: String,
}

impl Container {
    /// The first 12 hex digits, as `docker ps` prints them.
    pub fn short_id(&self) -> &str {
        self.id.get(..12).unwrap_or(&self.id)
    }
}

/// What a cgroup path says about where a process runs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CgroupOrigin {
    pub container: Option<Container>,
    /// The pod UID of a Kubernetes `kubepods` path, dashes restored.
    pub pod_uid: Option<String>,
    /// The innermost systemd unit (`nginx.service`), when no container.
    pub systemd_unit: Option<String>,
}

impl CgroupOrigin {
    pub fn is_empty(&self) -> bool {
        self.container.is_none() && self.pod_uid.is_none() && self.systemd_unit.is_none()
    }

    /// A short human label: `pod 1b2c3d4e (containerd 3f2a9c1b7d0e)`,
    /// `docker 3f2a9c1b7d0e`, `systemd nginx.service`.
    pub fn label(&self) -> Option<String> {
        let container = self
            .container
            .as_ref()
            .map(|c| format!("{} {}", c.runtime.name(), c.short_id()));
        match (&self.pod_uid, container) {
            (Some(pod), Some(container)) => Some(format!("pod {} ({container})", short_uid(pod))),
            (Some(pod), None) => Some(format!("pod {}", short_uid(pod))),
            (None, Some(container)) => Some(container),
            (None, None) => self
                .systemd_unit
                .as_ref()
                .map(|unit| format!("systemd {unit}")),
        }
    }
}

/// The first group of a UUID (`1b2c3d4e`), enough to tell pods apart.
fn short_uid(uid: &str) -> &str {
    uid.split('-').next().unwrap_or(uid)
}

/// Reads the text of `/proc/PID/cgroup` (cgroup v2 `0::/path`, or v1 lines
/// `N:controllers:/path`). The unified line wins; otherwise the first v1
/// line that names a container or pod.
pub fn origin_from_cgroup(text: &str) -> CgroupOrigin {
    let paths = text.lines().filter_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        Some((controllers.is_empty(), path))
    });
    let mut fallback = CgroupOrigin::default();
    for (unified, path) in paths {
        let origin = origin_from_path(path);
        if unified && !origin.is_empty() {
            return origin;
        }
        if origin.container.is_some() || origin.pod_uid.is_some() {
            return origin;
        }
        if fallback.is_empty() {
            fallback = origin;
        }
    }
    fallback
}

/// Reads one cgroup path, innermost component first.
fn origin_from_path(path: &str) -> CgroupOrigin {
    let components: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let mut origin = CgroupOrigin {
        pod_uid: components.iter().find_map(|c| pod_uid_of(c)),
        ..CgroupOrigin::default()
    };
    let in_docker_tree = components.first() == Some(&"docker");
    let in_kubepods = components
        .first()
        .is_some_and(|c| c.starts_with("kubepods"));
    for component in components.iter().rev() {
        if let Some(container) = container_of(component, in_docker_tree, in_kubepods) {
            origin.container = Some(container);
            return origin;
        }
    }
    if origin.pod_uid.is_none() {
        origin.systemd_unit = components
            .iter()
            .rev()
            .find(|c| is_systemd_leaf_unit(c))
            .map(|c| (*c).to_string());
    }
    origin
}

/// A container ID from one component: `docker-<id>.scope`,
/// `cri-containerd-<id>.scope`, `crio-<id>.scope`, `libpod-<id>.scope`, or a
/// bare `<id>` under `/docker/` or a cgroupfs `kubepods` tree.
fn container_of(component: &str, in_docker_tree: bool, in_kubepods: bool) -> Option<Container> {
    const SCOPES: [(&str, Runtime); 5] = [
        ("docker-", Runtime::Docker),
        ("cri-containerd-", Runtime::Containerd),
        ("crio-", Runtime::CriO),
        ("libpod-", Runtime::Podman),
        ("containerd-", Runtime::Containerd),
    ];
    let bare = component.strip_suffix(".scope").unwrap_or(component);
    for (prefix, runtime) in SCOPES {
        if let Some(id) = bare.strip_prefix(prefix).filter(|id| is_container_id(id)) {
            return Some(Container {
                runtime,
                id: id.to_string(),
            });
        }
    }
    if is_container_id(component) && (in_docker_tree || in_kubepods) {
        let runtime = if in_docker_tree {
            Runtime::Docker
        } else {
            Runtime::Containerd
        };
        return Some(Container {
            runtime,
            id: component.to_string(),
        });
    }
    None
}

/// 64 lowercase hex digits.
fn is_container_id(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `pod<uid>` (cgroupfs) or `kubepods-<qos>-pod<uid>.slice` (systemd, with
/// underscores for dashes).
fn pod_uid_of(component: &str) -> Option<String> {
    let bare = component.strip_suffix(".slice").unwrap_or(component);
    let (_, uid) = bare.rsplit_once("pod")?;
    if !(component.starts_with("pod") || component.starts_with("kubepods")) {
        return None;
    }
    let uid = uid.replace('_', "-");
    let is_uuid = uid.len() == 36
        && uid.bytes().enumerate().all(|(i, b)| {
            matches!(i, 8 | 13 | 18 | 23) == (b == b'-') && (b == b'-' || b.is_ascii_hexdigit())
        });
    is_uuid.then_some(uid)
}

/// A unit that runs processes (`*.service`, `*.scope`), not a slice.
fn is_systemd_leaf_unit(component: &str) -> bool {
    component.ends_with(".service") || component.ends_with(".scope")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3f2a9c1b7d0e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a";

    fn container(origin: &CgroupOrigin) -> (Runtime, &str) {
        let c = origin.container.as_ref().expect("a container");
        (c.runtime, c.id.as_str())
    }

    #[test]
    fn docker_with_the_systemd_driver_and_with_cgroupfs() {
        let v2 = origin_from_cgroup(&format!("0::/system.slice/docker-{ID}.scope\n"));
        assert_eq!(container(&v2), (Runtime::Docker, ID));
        assert_eq!(v2.label().as_deref(), Some("docker 3f2a9c1b7d0e"));
        let cgroupfs = origin_from_cgroup(&format!("0::/docker/{ID}\n"));
        assert_eq!(container(&cgroupfs), (Runtime::Docker, ID));
        let v1 = format!(
            "12:pids:/docker/{ID}\n11:memory:/docker/{ID}\n1:name=systemd:/docker/{ID}\n0::/\n"
        );
        assert_eq!(container(&origin_from_cgroup(&v1)), (Runtime::Docker, ID));
    }

    #[test]
    fn kubernetes_pods_under_containerd_and_cri_o() {
        let systemd = format!(
            "0::/kubepods.slice/kubepods-burstable.slice/\
             kubepods-burstable-pod1b2c3d4e_5f6a_7b8c_9d0e_1f2a3b4c5d6e.slice/cri-containerd-{ID}.scope\n"
        );
        let origin = origin_from_cgroup(&systemd);
        assert_eq!(container(&origin), (Runtime::Containerd, ID));
        assert_eq!(
            origin.pod_uid.as_deref(),
            Some("1b2c3d4e-5f6a-7b8c-9d0e-1f2a3b4c5d6e")
        );
        assert_eq!(
            origin.label().as_deref(),
            Some("pod 1b2c3d4e (containerd 3f2a9c1b7d0e)")
        );
        let cgroupfs =
            format!("0::/kubepods/besteffort/pod1b2c3d4e-5f6a-7b8c-9d0e-1f2a3b4c5d6e/{ID}\n");
        let origin = origin_from_cgroup(&cgroupfs);
        assert_eq!(container(&origin), (Runtime::Containerd, ID));
        assert_eq!(
            origin.pod_uid.as_deref(),
            Some("1b2c3d4e-5f6a-7b8c-9d0e-1f2a3b4c5d6e")
        );
        let guaranteed_crio = format!(
            "0::/kubepods.slice/kubepods-pod1b2c3d4e_5f6a_7b8c_9d0e_1f2a3b4c5d6e.slice/crio-{ID}.scope\n"
        );
        let origin = origin_from_cgroup(&guaranteed_crio);
        assert_eq!(container(&origin), (Runtime::CriO, ID));
        assert!(origin.pod_uid.is_some());
    }

    #[test]
    fn podman_rootful_and_rootless() {
        let rootful =
            origin_from_cgroup(&format!("0::/machine.slice/libpod-{ID}.scope/container\n"));
        assert_eq!(container(&rootful), (Runtime::Podman, ID));
        let rootless = origin_from_cgroup(&format!(
            "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope\n"
        ));
        assert_eq!(container(&rootless), (Runtime::Podman, ID));
        assert_eq!(rootless.label().as_deref(), Some("podman 3f2a9c1b7d0e"));
        let conmon = origin_from_cgroup(&format!("0::/machine.slice/libpod-conmon-{ID}.scope\n"));
        assert!(conmon.container.is_none(), "conmon is not the container");
    }

    #[test]
    fn systemd_units_and_plain_processes() {
        let service = origin_from_cgroup("0::/system.slice/nginx.service\n");
        assert!(service.container.is_none());
        assert_eq!(service.systemd_unit.as_deref(), Some("nginx.service"));
        assert_eq!(service.label().as_deref(), Some("systemd nginx.service"));
        let session = origin_from_cgroup("0::/user.slice/user-0.slice/session-3.scope\n");
        assert_eq!(session.systemd_unit.as_deref(), Some("session-3.scope"));
        assert!(origin_from_cgroup("0::/\n").is_empty());
        assert!(origin_from_cgroup("0::/init.scope\n").container.is_none());
    }

    #[test]
    fn nonsense_gives_nothing_and_never_panics() {
        for text in [
            "",
            "garbage",
            "0::",
            "::::",
            "0::/docker/abc",
            "0::/kubepods/podnot-a-uid/xyz",
            "0::/system.slice/docker-.scope",
            "0::/kubepods/pod\u{e9}\u{e9}/x",
        ] {
            let origin = origin_from_cgroup(text);
            assert!(origin.container.is_none(), "{text:?}: {origin:?}");
            assert!(origin.pod_uid.is_none(), "{text:?}: {origin:?}");
        }
    }
}
