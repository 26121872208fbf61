use custos_import::{Collect, Tool};
use std::path::Path;
#[test]
fn dump() {
    let s = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/uwazi");
    for f in ["export-example.csv","import-test.csv","import-languages.zip","import.zip","zipTest.zip","hr-export/incidents.csv","zip-data/import.csv"] {
        let c = Collect::read(Tool::Uwazi, &s.join(f));
        println!("===== {f}\nproblems: {:#?}", c.problems);
        for u in &c.units { println!("--- {} {}\n{:?}\nfiles: {:?}\nunmapped: {:?}", u.original_id, u.at, u.records.iter().map(|r| &r.record).collect::<Vec<_>>(), u.files.iter().map(|f| (&f.name, &f.source)).collect::<Vec<_>>(), u.unmapped); }
    }
}
