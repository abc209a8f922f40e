//! Which server an event is of: its own `server`, else its source's latest `hello`'s, else
//! the source's name (a log read with others is named after its file; unnamed sources are
//! `source-N`, the first one ""). Two sources giving one name are two servers, the second
//! shown as `name (feed N)`. The model and the per-server split both tell servers apart so.

use crate::event::{Event, EventKind, Str};
use std::collections::HashMap;

#[derive(Clone, Debug, Default)]
pub struct ServerNames {
    /// By (source, name as given): the server's index.
    ids: HashMap<(usize, Str), usize>,
    /// Per server: its name as shown.
    shown: Vec<Str>,
    /// Per source: the server of its latest `hello`.
    current: Vec<Option<usize>>,
    /// Per source: its name for events that name no server before a `hello` does.
    source_names: Vec<Str>,
}

/// A server met for the first time.
pub struct NewServer {
    /// Its name was another source's: shown with a `(feed N)` suffix.
    pub duplicate: bool,
}

impl ServerNames {
    pub fn name_source(&mut self, source: usize, name: &str) {
        if self.source_names.len() <= source {
            self.source_names.resize(source + 1, Str::default());
        }
        self.source_names[source] = Str::from(name);
    }

    /// The server of `ev` from `source` (a `hello` makes it the source's current one), and
    /// whether it is new.
    pub fn resolve(&mut self, source: usize, ev: &Event) -> (usize, Option<NewServer>) {
        if self.current.len() <= source {
            self.current.resize(source + 1, None);
        }
        let (id, new) = match (&ev.server, self.current[source]) {
            (None, Some(id)) => (id, None),
            (given, _) => {
                let name = given.clone().unwrap_or_else(|| self.default_name(source));
                self.id_of(source, name)
            }
        };
        if let EventKind::Hello(_) = ev.kind {
            self.current[source] = Some(id);
        }
        (id, new)
    }

    /// The server `server` (or the unnamed one) of `source` is, if it has spoken.
    pub fn lookup(&self, source: usize, server: Option<&str>) -> Option<usize> {
        match (server, self.current.get(source).copied().flatten()) {
            (None, Some(id)) => Some(id),
            (given, _) => {
                let name = given.map_or_else(|| self.default_name(source), Str::from);
                self.ids.get(&(source, name)).copied()
            }
        }
    }

    /// Server `id`'s name as shown.
    pub fn shown(&self, id: usize) -> &Str {
        &self.shown[id]
    }

    /// Servers met so far.
    pub fn len(&self) -> usize {
        self.shown.len()
    }

    pub fn is_empty(&self) -> bool {
        self.shown.is_empty()
    }

    /// Each server's name as shown, by index.
    pub fn all(&self) -> &[Str] {
        &self.shown
    }

    fn default_name(&self, source: usize) -> Str {
        match self.source_names.get(source) {
            Some(n) if !n.is_empty() => n.clone(),
            _ if source == 0 => Str::default(),
            _ => Str::from(format!("source-{source}")),
        }
    }

    fn id_of(&mut self, source: usize, name: Str) -> (usize, Option<NewServer>) {
        if let Some(&id) = self.ids.get(&(source, name.clone())) {
            return (id, None);
        }
        let duplicate = self.shown.contains(&name);
        let shown = if duplicate {
            Str::from(format!("{name} (feed {})", source + 1))
        } else {
            name.clone()
        };
        self.shown.push(shown);
        let id = self.shown.len() - 1;
        self.ids.insert((source, name), id);
        (id, Some(NewServer { duplicate }))
    }
}
