//! (filled in below)

use super::core::{Checks, Ctx};
use super::Question;
use crate::doc::Doc;

pub(crate) const QUESTIONS: &[Question] = &[];

pub(crate) fn check(_c: &Ctx<'_>, _k: &mut Checks) {}

pub(crate) fn build(_c: &Ctx<'_>, _d: &mut Doc) {}
