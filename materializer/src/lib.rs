//! balados-materializer
