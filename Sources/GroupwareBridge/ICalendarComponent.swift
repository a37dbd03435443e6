/// A calendar component (RFC 5545 section 3.6): `BEGIN:name`, properties, nested components,
/// `END:name`. VCALENDAR itself is a component, so one type models the whole tree.
public struct ICalendarComponent: Hashable, Sendable {
    /// Upper-cased: component names are case-insensitive.
    public var name: String
    public var properties: [ICalendarProperty]
    public var components: [ICalendarComponent]

    public init(_ name: String, properties: [ICalendarProperty] = [], components: [ICalendarComponent] = []) {
        self.name = name.uppercased()
        self.properties = properties
        self.components = components
    }

    /// The first property with this name (case-insensitive).
    public func property(_ name: String) -> ICalendarProperty? {
        let upper = name.uppercased()
        return properties.first { $0.name == upper }
    }

    /// Every property with this name, in order (ATTENDEE, CATEGORIES, ...).
    public func properties(_ name: String) -> [ICalendarProperty] {
        let upper = name.uppercased()
        return properties.filter { $0.name == upper }
    }

    /// The direct sub-components with this name.
    public func components(_ name: String) -> [ICalendarComponent] {
        let upper = name.uppercased()
        return components.filter { $0.name == upper }
    }

    /// Where the event that stands for the whole meeting is: the first VEVENT without RECURRENCE-ID (the master, when
    /// there are overrides), else the first VEVENT; nil when there is none.
    public var masterEventIndex: Int? {
        components.firstIndex { $0.name == "VEVENT" && $0.property("RECURRENCE-ID") == nil }
            ?? components.firstIndex { $0.name == "VEVENT" }
    }

    /// That event itself.
    public var masterEvent: ICalendarComponent? {
        masterEventIndex.map { components[$0] }
    }
}
