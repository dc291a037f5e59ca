//! The printed tables: one column per server, then weft-server's ratio to
//! each peer (below 1 is weft-server lower: faster, smaller).

use super::client::Wire;

pub struct Table {
    title: String,
    servers: Vec<Wire>,
    rows: Vec<Row>,
    notes: Vec<String>,
}

struct Row {
    label: String,
    /// Per server, `None` where the figure does not apply.
    values: Vec<Option<f64>>,
    decimals: usize,
}

const LABEL: usize = 36;
const COLUMN: usize = 13;

impl Table {
    pub fn new(title: String, servers: &[Wire]) -> Table {
        Table {
            title,
            servers: servers.to_vec(),
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn row(&mut self, label: &str, decimals: usize, values: Vec<Option<f64>>) {
        self.rows.push(Row {
            label: label.to_owned(),
            values,
            decimals,
        });
    }

    /// A line printed under the table.
    pub fn note(&mut self, note: &str) {
        self.notes.push(note.to_owned());
    }

    pub fn print(&self) {
        println!("\n{}", self.title);
        let weft = self.servers.iter().position(|&w| w == Wire::Weft);
        let peers: Vec<usize> = (0..self.servers.len())
            .filter(|&i| Some(i) != weft)
            .collect();
        let mut header = format!("{:LABEL$}", "");
        for &w in &self.servers {
            header += &format!("{:>COLUMN$}", w.name());
        }
        if weft.is_some() {
            for &p in &peers {
                header += &format!("{:>COLUMN$}", format!("weft/{}", self.servers[p].short()));
            }
        }
        println!("{header}");
        for row in &self.rows {
            let mut line = format!("{:LABEL$}", row.label);
            for v in &row.values {
                let cell = v.map_or("n/a".to_owned(), |v| format!("{v:.*}", row.decimals));
                line += &format!("{cell:>COLUMN$}");
            }
            if let Some(w) = weft {
                for &p in &peers {
                    let ratio = match (row.values[w], row.values[p]) {
                        (Some(a), Some(b)) if b != 0.0 => format!("{:.2}x", a / b),
                        _ => "n/a".to_owned(),
                    };
                    line += &format!("{ratio:>COLUMN$}");
                }
            }
            println!("{line}");
        }
        for note in &self.notes {
            println!("  {note}");
        }
    }
}
