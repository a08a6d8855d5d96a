/// Namespace for the QEMU leaf module: typed machine configuration, the process
/// wrapper, the QMP monitor client and `qemu-img`. It imports nothing of Updraft.
public enum QEMU {}
