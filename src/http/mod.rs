//! Hand-written HTTP/1.1: request heads, bodies, forms and responses.

pub mod body;
pub mod form;
pub mod reader;
pub mod request;
pub mod response;

pub use body::{BodyDecoder, BodyError};
pub use reader::{Read, ReadError, RequestReader};
pub use request::{BodyFraming, HeadError, HeadLimits, HeadParser, Method, RequestHead};
pub use response::{Framing, Response};
