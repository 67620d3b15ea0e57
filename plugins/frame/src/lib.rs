//! The frame: the bytes a batch of events crosses into a
//! `covenant:rule@3.0.0` plugin as (`wit/v3/frame.md` is the layout).
//!
//! Both sides of the sandbox live here, so that they cannot drift apart:
//! - the host builds each [`Batch`] once from the events it read (with an
//!   [`Encoder`], which numbers the strings that repeat), and a
//!   [`FrameWriter`] per rule writes that rule's frame from it: only the
//!   fields and actions the rule's [`Projection`] names, and only the
//!   dictionary entries the rule has not been sent;
//! - the guest's [`Decoder`] checks a frame whole and gives its events as
//!   borrowed [`EventView`]s, with the dictionary kept across frames.
//!
//! The test vectors in `wit/v3/frame-vectors.json` are written by this
//! crate's tests and read back by them, and by the Python and JavaScript
//! decoders' tests, so that every decoder agrees with this one.

#![warn(missing_docs)]

mod decode;
mod encode;

pub use decode::{Decoder, EventView, Frame, FrameError, Source, Text};
pub use encode::{Batch, DataRecord, Encoder, EventRecord, FrameWriter};

// `Field`, `Fields` and `Projection` are defined below: they are the
// layout itself, which both sides read.

/// The first four bytes of every frame.
pub const MAGIC: [u8; 4] = *b"CVNF";

/// The layout this crate writes and reads (`frame.md`, "Layout 1").
pub const LAYOUT: u16 = 1;

/// The size of a frame's header.
pub const HEADER_BYTES: usize = 48;

/// The most symbols a dictionary holds; past it strings travel inline.
pub const MAX_SYMBOLS: u32 = 65_536;

/// The most bytes of text the dictionary's symbols hold together.
pub const MAX_SYMBOL_BYTES: usize = 1 << 20;

/// A span's length when what it names is absent.
const ABSENT_SPAN: u32 = u32::MAX;

/// The bit that marks a text cell as an inline string rather than a symbol.
const INLINE: u32 = 1 << 31;

/// A data item's id's 128-bit key: the host's keyed hash of it.
pub type Key = [u8; 16];

/// A part of an event a rule can read: the `fields` flags of `rule.wit`, in
/// their order, which is their bit in a frame's `fields`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    /// The event's id.
    Id,
    /// What was done.
    Action,
    /// The organisation in whose context it ran.
    Tenant,
    /// The actor's kind.
    ActorKind,
    /// The actor's id.
    ActorId,
    /// Why it was done.
    Purpose,
    /// The consent's scope.
    Scope,
    /// The processing layer.
    Layer,
    /// Where it ran.
    Region,
    /// The data item's id, with its key.
    DataId,
    /// The data item's category.
    DataCategory,
    /// The organisation tag the data item carries.
    DataTenant,
    /// Where the data item is kept.
    DataStore,
    /// The items a derived data item was computed from.
    DataSources,
}

impl Field {
    /// Every field, in bit order.
    pub const ALL: [Field; 14] = [
        Field::Id,
        Field::Action,
        Field::Tenant,
        Field::ActorKind,
        Field::ActorId,
        Field::Purpose,
        Field::Scope,
        Field::Layer,
        Field::Region,
        Field::DataId,
        Field::DataCategory,
        Field::DataTenant,
        Field::DataStore,
        Field::DataSources,
    ];

    /// The fields whose cells are texts (symbols or inline strings).
    pub const TEXTS: [Field; 11] = [
        Field::Action,
        Field::Tenant,
        Field::ActorKind,
        Field::ActorId,
        Field::Purpose,
        Field::Scope,
        Field::Layer,
        Field::Region,
        Field::DataCategory,
        Field::DataTenant,
        Field::DataStore,
    ];

    /// The field's bit in a frame's `fields`.
    pub fn bit(self) -> u32 {
        1 << self as u32
    }

    /// The field's name in `rule.wit`.
    pub fn name(self) -> &'static str {
        match self {
            Field::Id => "id",
            Field::Action => "action",
            Field::Tenant => "tenant",
            Field::ActorKind => "actor-kind",
            Field::ActorId => "actor-id",
            Field::Purpose => "purpose",
            Field::Scope => "scope",
            Field::Layer => "layer",
            Field::Region => "region",
            Field::DataId => "data-id",
            Field::DataCategory => "data-category",
            Field::DataTenant => "data-tenant",
            Field::DataStore => "data-store",
            Field::DataSources => "data-sources",
        }
    }

    /// Where the field's column is among the text columns, if it is one.
    fn text_index(self) -> Option<usize> {
        // A match, not a search of `TEXTS`: views ask it for every cell.
        match self {
            Field::Id | Field::DataId | Field::DataSources => None,
            Field::Action => Some(0),
            Field::Tenant => Some(1),
            Field::ActorKind => Some(2),
            Field::ActorId => Some(3),
            Field::Purpose => Some(4),
            Field::Scope => Some(5),
            Field::Layer => Some(6),
            Field::Region => Some(7),
            Field::DataCategory => Some(8),
            Field::DataTenant => Some(9),
            Field::DataStore => Some(10),
        }
    }
}

/// A set of [`Field`]s, as a frame's `fields` bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Fields(u32);

impl Fields {
    /// No field.
    pub const NONE: Fields = Fields(0);

    /// The set with `field` added.
    pub fn with(self, field: Field) -> Fields {
        Fields(self.0 | field.bit())
    }

    /// Whether the set holds `field`.
    pub fn contains(self, field: Field) -> bool {
        self.0 & field.bit() != 0
    }

    /// The set as a frame's `fields`.
    pub fn bits(self) -> u32 {
        self.0
    }

    /// The set `bits` stands for, if every bit set names a field.
    pub fn from_bits(bits: u32) -> Option<Fields> {
        (bits >> Field::ALL.len() == 0).then_some(Fields(bits))
    }

    /// The fields in the set, in bit order.
    pub fn iter(self) -> impl Iterator<Item = Field> {
        Field::ALL.into_iter().filter(move |&f| self.contains(f))
    }
}

impl FromIterator<Field> for Fields {
    fn from_iter<I: IntoIterator<Item = Field>>(fields: I) -> Fields {
        fields.into_iter().fold(Fields::NONE, Fields::with)
    }
}

/// What a rule reads (`projection` in `rule.wit`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Projection {
    /// The fields sent; time and ordinal always are.
    pub fields: Fields,
    /// The actions whose events are sent; empty means all.
    pub actions: Vec<String>,
    /// The attributes sent, one column each, in this order.
    pub attributes: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::Field;

    #[test]
    fn a_fields_text_column_is_its_place_in_texts() {
        for field in Field::ALL {
            let place = Field::TEXTS.iter().position(|&f| f == field);
            assert_eq!(field.text_index(), place, "{field:?}");
        }
    }
}
