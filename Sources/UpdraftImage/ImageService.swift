/// Placeholder: the Glance-compatible image service lands here.
public enum UpdraftImageModule {}
