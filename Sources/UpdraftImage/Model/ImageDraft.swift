/// What a new image starts with: the client's choices before any data is uploaded.
public struct ImageDraft: Sendable, Equatable {
    /// A client-chosen id (Glance accepts one); a new UUID when nil.
    public var id: String?
    public var name: String?
    /// The owning project; the caller's project when nil. Only an administrator may choose another.
    public var owner: String?
    public var diskFormat: String?
    public var containerFormat: String?
    /// `shared` when nil, as Glance has defaulted since Pike.
    public var visibility: Image.Visibility?
    public var protected: Bool = false
    public var hidden: Bool = false
    public var minDisk: Int = 0
    public var minRAM: Int = 0
    public var tags: [String] = []
    public var properties: [String: String] = [:]

    public init(
        name: String?, diskFormat: String?, containerFormat: String?, visibility: Image.Visibility? = nil, minDisk: Int = 0,
        minRAM: Int = 0, properties: [String: String] = [:]
    ) {
        self.name = name
        self.diskFormat = diskFormat
        self.containerFormat = containerFormat
        self.visibility = visibility
        self.minDisk = minDisk
        self.minRAM = minRAM
        self.properties = properties
    }
}
