//! The whole model and, beside it, one model per server: a finding that holds on one server
//! of a hundred is judged on that server's events, not diluted by the other 99's.
//!
//! Servers are told apart as the whole model does (by source and name: the event's `server`,
//! else its source's latest `hello`, else the source's name). While only one server has
//! spoken, the whole model is its model and nothing is folded twice; when a second one
//! speaks, the first one's model starts as a copy of the whole, which until then held only
//! its events.

use super::Model;
use crate::event::{Event, EventKind, Str};
use std::collections::HashMap;

/// The whole model and one model per server.
#[derive(Clone, Debug)]
pub struct Fleet {
    whole: Model,
    split: ServerSplit,
}

impl Fleet {
    /// `empty` is the model to fold into (with its parameters), before any event.
    pub fn new(empty: Model) -> Fleet {
        Fleet {
            whole: empty.clone(),
            split: ServerSplit::new(empty),
        }
    }

    /// See [`Model::name_source`].
    pub fn name_source(&mut self, source: usize, name: &str) {
        self.whole.name_source(source, name);
        self.split.name_source(source, name);
    }

    pub fn apply(&mut self, source: usize, ev: &Event) {
        self.split.apply(&self.whole, source, ev);
        self.whole.apply(source, ev);
    }

    /// See [`Model::finish`].
    pub fn finish(&mut self) {
        self.whole.finish();
        self.split.finish();
    }

    /// See [`Model::note_skipped`].
    pub fn note_skipped(&mut self, lines: u64) {
        self.whole.note_skipped(lines);
    }

    pub fn whole(&self) -> &Model {
        &self.whole
    }

    /// Each server's name and model, in the order they first spoke.
    pub fn servers(&self) -> Vec<(&str, &Model)> {
        self.split.servers(&self.whole)
    }
}

/// The per-server models beside a whole model kept by someone else (the dashboard keeps its
/// own): [`ServerSplit::apply`] is called with the whole model as it was before the event.
#[derive(Clone, Debug)]
pub struct ServerSplit {
    /// A model with no events, to start each new server's from.
    empty: Model,
    /// By (source, name): the server's index in `names` and `models`.
    ids: HashMap<(usize, Str), usize>,
    /// Per server: its name as shown (two sources giving one name are told apart).
    names: Vec<String>,
    /// Per server: its model, from when a second server spoke.
    models: Vec<Option<Model>>,
    /// Per source: the server of its latest `hello`.
    current: Vec<Option<usize>>,
    source_names: Vec<String>,
}

impl ServerSplit {
    pub fn new(empty: Model) -> ServerSplit {
        ServerSplit {
            empty,
            ids: HashMap::new(),
            names: Vec::new(),
            models: Vec::new(),
            current: Vec::new(),
            source_names: Vec::new(),
        }
    }

    /// See [`Model::name_source`].
    pub fn name_source(&mut self, source: usize, name: &str) {
        self.empty.name_source(source, name);
        if self.source_names.len() <= source {
            self.source_names.resize(source + 1, String::new());
        }
        self.source_names[source] = name.to_string();
    }

    /// Folds `ev` into its server's model; `whole` is the whole model before `ev`.
    pub fn apply(&mut self, whole: &Model, source: usize, ev: &Event) {
        let server = self.server_of(source, ev);
        if self.names.len() > 1 {
            if self.models[0].is_none() {
                self.models[0] = Some(whole.clone());
            }
            self.models[server]
                .get_or_insert_with(|| self.empty.clone())
                .apply(source, ev);
        }
    }

    pub fn finish(&mut self) {
        self.models.iter_mut().flatten().for_each(Model::finish);
    }

    /// Moves every server's event time to `now` (see [`Model::advance_to`]).
    pub fn advance_to(&mut self, now: crate::event::Ts) {
        for m in self.models.iter_mut().flatten() {
            m.advance_to(now);
        }
    }

    /// The model of the server shown as `name`, once servers have models of their own.
    pub fn model_named(&self, name: &str) -> Option<&Model> {
        let i = self.names.iter().position(|n| n == name)?;
        self.models.get(i)?.as_ref()
    }

    /// More than one server spoke: each has a model of its own.
    pub fn is_split(&self) -> bool {
        self.names.len() > 1
    }

    /// Each server's name and model (`whole` while only one spoke), in the order they first
    /// spoke.
    pub fn servers<'a>(&'a self, whole: &'a Model) -> Vec<(&'a str, &'a Model)> {
        self.names
            .iter()
            .zip(&self.models)
            .map(|(name, model)| (name.as_str(), model.as_ref().unwrap_or(whole)))
            .collect()
    }

    fn server_of(&mut self, source: usize, ev: &Event) -> usize {
        if self.current.len() <= source {
            self.current.resize(source + 1, None);
        }
        let name: Str = match (&ev.server, self.current[source]) {
            (Some(name), _) => name.clone(),
            (None, Some(id)) => return id,
            (None, None) => match self.source_names.get(source) {
                Some(n) if !n.is_empty() => Str::from(n.as_str()),
                _ if source == 0 => Str::default(),
                _ => Str::from(format!("source-{source}")),
            },
        };
        let names = &mut self.names;
        let models = &mut self.models;
        let id = *self
            .ids
            .entry((source, name))
            .or_insert_with_key(|(_, name)| {
                let shown = if names.iter().any(|n| n == name.as_str()) {
                    format!("{name} (feed {})", source + 1)
                } else {
                    name.to_string()
                };
                names.push(shown);
                models.push(None);
                names.len() - 1
            });
        if let EventKind::Hello(_) = ev.kind {
            self.current[source] = Some(id);
        }
        id
    }
}
