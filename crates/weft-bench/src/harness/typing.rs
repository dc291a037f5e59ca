//! What a client types: single characters at a cursor that moves on as
//! it types, now and then a backspace, now and then a click elsewhere.

use super::client::Replica;
use super::rng::Rng;
use tokio_tungstenite::tungstenite::Message;

const BACKSPACE: f64 = 0.2;
const CLICK_ELSEWHERE: f64 = 0.05;
const LETTERS: &[u8] = b"etaoinshrdlucmfwypvbgkqjxz      ";

pub struct Typist {
    rng: Rng,
    cursor: usize,
}

/// One keystroke: the messages carrying it, and whether it inserted.
pub struct Keystroke {
    pub messages: Vec<Message>,
    pub inserted: bool,
}

impl Typist {
    pub fn new(seed: u64) -> Typist {
        Typist {
            rng: Rng::new(seed),
            cursor: 0,
        }
    }

    pub fn type_one(&mut self, replica: &mut Replica) -> Keystroke {
        // Others' edits move text under the cursor; a browser's cursor
        // follows them, this one only stays inside the text.
        let len = replica.char_count();
        self.cursor = self.cursor.min(len);
        if self.rng.chance(CLICK_ELSEWHERE) {
            self.cursor = self.rng.below(len + 1);
        }
        if self.cursor > 0 && self.rng.chance(BACKSPACE) {
            self.cursor -= 1;
            return Keystroke {
                messages: replica.delete(self.cursor, 1),
                inserted: false,
            };
        }
        self.insert_one(replica)
    }

    /// One letter typed at the cursor (a keystroke that is sure to insert:
    /// deletes do not advance a yrs state vector, so they cannot be
    /// waited for).
    pub fn insert_one(&mut self, replica: &mut Replica) -> Keystroke {
        self.cursor = self.cursor.min(replica.char_count());
        let letter = LETTERS[self.rng.below(LETTERS.len())] as char;
        let messages = replica.insert(self.cursor, letter.encode_utf8(&mut [0; 4]));
        self.cursor += 1;
        Keystroke {
            messages,
            inserted: true,
        }
    }
}
