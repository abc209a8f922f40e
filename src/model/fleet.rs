//! The whole model and, beside it, one model per server: a finding that holds on one server
//! of a hundred is judged on that server's events, not diluted by the other 99's.
//!
//! Servers are told apart as the whole model does ([`ServerNames`]). While only one server has
//! spoken, the whole model is its model and nothing is folded twice; when a second one
//! speaks, the first one's model starts as a copy of the whole, which until then held only
//! its events.

use super::Model;
use super::server_names::ServerNames;
use crate::event::Event;

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
    /// Which server each event is of, as the whole model tells them apart.
    names: ServerNames,
    /// Per server: its model, from when a second server spoke.
    models: Vec<Option<Model>>,
}

impl ServerSplit {
    pub fn new(empty: Model) -> ServerSplit {
        ServerSplit {
            empty,
            names: ServerNames::default(),
            models: Vec::new(),
        }
    }

    /// See [`Model::name_source`].
    pub fn name_source(&mut self, source: usize, name: &str) {
        self.empty.name_source(source, name);
        self.names.name_source(source, name);
    }

    /// Folds `ev` into its server's model; `whole` is the whole model before `ev`.
    pub fn apply(&mut self, whole: &Model, source: usize, ev: &Event) {
        let (server, new) = self.names.resolve(source, ev);
        if new.is_some() {
            self.models.push(None);
        }
        if self.models.len() > 1 {
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
        let i = self.names.all().iter().position(|n| n == name)?;
        self.models.get(i)?.as_ref()
    }

    /// More than one server spoke: each has a model of its own.
    pub fn is_split(&self) -> bool {
        self.models.len() > 1
    }

    /// Each server's name and model (`whole` while only one spoke), in the order they first
    /// spoke.
    pub fn servers<'a>(&'a self, whole: &'a Model) -> Vec<(&'a str, &'a Model)> {
        self.names
            .all()
            .iter()
            .zip(&self.models)
            .map(|(name, model)| (name.as_str(), model.as_ref().unwrap_or(whole)))
            .collect()
    }
}
