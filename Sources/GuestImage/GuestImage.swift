/// Namespace for building Updraft's own guest images from Debian packages.
/// It imports nothing of Updraft.
public enum GuestImage {}
