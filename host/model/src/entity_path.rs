//! Entity paths: the one parser of the names by which entities refer to each other (a rule's
//! trigger and action, a sequence's components, a feed's trigger, a gateway route's action).
//! Pure logic; no I/O.
//!
//! OpenWhisk writes them in two forms. A **reference**, as users and clients type it, where a
//! leading `/` says the first segment is the namespace: `name`, `pkg/name`, `/ns/name`,
//! `/ns/pkg/name` (and `ns/pkg/name`, which has no other reading). A **qualified** name, as
//! entities store them, always starts with the namespace, the leading `/` optional:
//! `ns/name`, `ns/pkg/name`. In both, `_` as the namespace is the caller's.

use crate::entity::valid_entity_name;

/// How a path is written (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// As users write it: the namespace only after a leading `/` (or with three segments).
    Reference,
    /// As entities store it: the namespace always first.
    Qualified,
}

/// An entity's namespace, package (if any) and simple name, each a valid entity name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityPath {
    /// The owning namespace (`_` already replaced by the caller's).
    pub namespace: String,
    /// The package it is in, if any.
    pub package: Option<String>,
    /// The simple name.
    pub name: String,
}

impl EntityPath {
    /// Reads `text` written in `form`, `_` standing for `caller`. `None` when it has too many
    /// or too few segments for the form, or a segment is not a valid entity name.
    pub fn parse(text: &str, form: Form, caller: &str) -> Option<EntityPath> {
        let rooted = text.starts_with('/');
        let segs: Vec<&str> = text.strip_prefix('/').unwrap_or(text).split('/').collect();
        if segs.iter().any(|s| valid_entity_name(s).is_err()) {
            return None;
        }
        let (namespace, package, name) = match (form, rooted, segs.as_slice()) {
            (Form::Reference, false, [name]) => (caller, None, *name),
            (Form::Reference, false, [pkg, name]) => (caller, Some(*pkg), *name),
            (Form::Reference, true, [ns, name]) | (Form::Qualified, _, [ns, name]) => {
                (*ns, None, *name)
            }
            (_, _, [ns, pkg, name]) => (*ns, Some(*pkg), *name),
            _ => return None,
        };
        Some(EntityPath {
            namespace: if namespace == "_" { caller } else { namespace }.to_string(),
            package: package.map(str::to_string),
            name: name.to_string(),
        })
    }

    /// `ns` or `ns/pkg`: where the entity lives, as OpenWhisk's `path` fields write it.
    pub fn path(&self) -> String {
        match &self.package {
            Some(p) => format!("{}/{p}", self.namespace),
            None => self.namespace.clone(),
        }
    }

    /// The stored form `/ns/[pkg/]name`.
    pub fn fqn(&self) -> String {
        format!("/{}/{}", self.path(), self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(p: Option<EntityPath>) -> Option<(String, Option<String>, String)> {
        p.map(|p| (p.namespace, p.package, p.name))
    }

    fn owned(ns: &str, pkg: Option<&str>, name: &str) -> Option<(String, Option<String>, String)> {
        Some((ns.into(), pkg.map(Into::into), name.into()))
    }

    #[test]
    fn references_name_the_namespace_only_after_a_slash() {
        let r = |t| parts(EntityPath::parse(t, Form::Reference, "me"));
        assert_eq!(r("a"), owned("me", None, "a"));
        assert_eq!(r("p/a"), owned("me", Some("p"), "a"));
        assert_eq!(r("/ns/a"), owned("ns", None, "a"));
        assert_eq!(r("/_/a"), owned("me", None, "a"));
        assert_eq!(r("/ns/p/a"), owned("ns", Some("p"), "a"));
        assert_eq!(r("ns/p/a"), owned("ns", Some("p"), "a"));
        assert_eq!(r("_/p/a"), owned("me", Some("p"), "a"));
        for bad in ["", "/", "/a", "a/", "//a", "/ns/p/a/b", "a b/c!", "/ns/-x"] {
            assert_eq!(r(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn qualified_names_always_start_with_the_namespace() {
        let q = |t| parts(EntityPath::parse(t, Form::Qualified, "me"));
        assert_eq!(q("ns/a"), owned("ns", None, "a"));
        assert_eq!(q("/ns/a"), owned("ns", None, "a"));
        assert_eq!(q("_/a"), owned("me", None, "a"));
        assert_eq!(q("/ns/p/a"), owned("ns", Some("p"), "a"));
        for bad in ["a", "/a", "", "ns//a", "/ns/p/a/b"] {
            assert_eq!(q(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn stored_forms() {
        let p = EntityPath::parse("/_/p/a", Form::Reference, "me").unwrap();
        assert_eq!((p.path(), p.fqn()), ("me/p".into(), "/me/p/a".into()));
        let p = EntityPath::parse("a", Form::Reference, "me").unwrap();
        assert_eq!((p.path(), p.fqn()), ("me".into(), "/me/a".into()));
    }
}
