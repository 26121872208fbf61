//! Reading a uwazi export (being written).

use std::path::Path;

use crate::{Problem, Sink, Stopped};

/// Reads the export at `path` into units.
pub fn read(path: &Path, sink: &mut dyn Sink) -> Result<(), Stopped> {
    sink.problem(Problem::new(
        path.display().to_string(),
        "this importer is not written yet",
    ));
    Ok(())
}
