//! Opens a journal (checkpoint + records of `batch` edits) over and over.
use weft::journal;
fn main() {
    let path = std::env::args().nth(1).expect("trace");
    let at: f64 = std::env::args().nth(2).map_or(0.73, |s| s.parse().unwrap());
    let trace = weft_traces::load(&path).unwrap();
    let patches: Vec<_> = trace.txns.iter().flat_map(|t| t.patches.iter()).collect();
    let mut doc = weft::Doc::new(1);
    let cut = (patches.len() as f64 * at) as usize;
    let mut checkpoint = Vec::new();
    let mut records = Vec::new();
    let mut mark = doc.version();
    for (i, p) in patches.iter().enumerate() {
        use weft::IndexUnit::CodePoint;
        if p.del > 0 {
            doc.delete(p.pos, p.del, CodePoint).unwrap();
        }
        if !p.ins.is_empty() {
            doc.insert(p.pos, &p.ins, CodePoint).unwrap();
        }
        if i + 1 == cut {
            checkpoint = journal::encode_checkpoint(1, &doc.encode_snapshot());
            mark = doc.version();
        } else if i + 1 > cut && (i + 1 - cut).is_multiple_of(1000) || i + 1 == patches.len() {
            let key = records.len() as u64 + 2;
            records.push(journal::encode_record(key, &doc.encode_update(&mark)));
            mark = doc.version();
        }
    }
    let bytes: usize = records.iter().map(|r| r.len()).sum();
    eprintln!(
        "checkpoint {} B, {} records {} B",
        checkpoint.len(),
        records.len(),
        bytes
    );
    let n = 200;
    let t = std::time::Instant::now();
    for _ in 0..n {
        let o = journal::open(
            9,
            [(1u64, &checkpoint[..])],
            records
                .iter()
                .enumerate()
                .map(|(i, r)| (i as u64 + 2, &r[..])),
        );
        assert!(o.problems.is_empty());
        std::hint::black_box(o.doc.len(weft::IndexUnit::CodePoint));
    }
    eprintln!(
        "{:.3} ms per open",
        t.elapsed().as_secs_f64() * 1000.0 / n as f64
    );
    let t = std::time::Instant::now();
    for _ in 0..n {
        let o = journal::open(9, [(1u64, &checkpoint[..])], std::iter::empty());
        std::hint::black_box(o.doc.len(weft::IndexUnit::CodePoint));
    }
    eprintln!(
        "{:.3} ms per checkpoint-only open",
        t.elapsed().as_secs_f64() * 1000.0 / n as f64
    );
    let base = journal::open(9, [(1u64, &checkpoint[..])], std::iter::empty()).doc;
    let payloads: Vec<Vec<u8>> = records
        .iter()
        .map(|r| journal::decode_entry(r).unwrap().payload.to_vec())
        .collect();
    let t = std::time::Instant::now();
    let mut spent = 0.0;
    for _ in 0..n {
        let mut d = base.clone();
        let t1 = std::time::Instant::now();
        for p in &payloads {
            d.apply_update(p, weft::IndexUnit::CodePoint).unwrap();
        }
        spent += t1.elapsed().as_secs_f64();
        std::hint::black_box(d.len(weft::IndexUnit::CodePoint));
    }
    let _ = t;
    eprintln!("{:.3} ms per records replay", spent * 1000.0 / n as f64);
}
