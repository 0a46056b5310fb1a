//! Readable names for RomM's common platform slugs ("n64" → "Nintendo 64"),
//! for the pages; an unknown slug is shown as it is.

/// (slug, name), RomM's slugs with the usual aliases, sorted by slug
/// (byte order) for the binary search.
const NAMES: &[(&str, &str)] = &[
    ("3do", "3DO Interactive Multiplayer"),
    ("3ds", "Nintendo 3DS"),
    ("amiga", "Amiga"),
    ("arcade", "Arcade"),
    ("atari2600", "Atari 2600"),
    ("atari5200", "Atari 5200"),
    ("atari7800", "Atari 7800"),
    ("colecovision", "ColecoVision"),
    ("dc", "Sega Dreamcast"),
    ("dos", "DOS"),
    ("dreamcast", "Sega Dreamcast"),
    ("fds", "Famicom Disk System"),
    ("gamegear", "Sega Game Gear"),
    ("gb", "Game Boy"),
    ("gba", "Game Boy Advance"),
    ("gbc", "Game Boy Color"),
    ("gc", "Nintendo GameCube"),
    ("genesis", "Sega Mega Drive / Genesis"),
    ("genesis-slash-megadrive", "Sega Mega Drive / Genesis"),
    ("jaguar", "Atari Jaguar"),
    ("lynx", "Atari Lynx"),
    ("mame", "Arcade (MAME)"),
    ("megadrive", "Sega Mega Drive / Genesis"),
    ("msx", "MSX"),
    ("n64", "Nintendo 64"),
    ("nds", "Nintendo DS"),
    ("neo-geo-pocket", "Neo Geo Pocket"),
    ("neo-geo-pocket-color", "Neo Geo Pocket Color"),
    ("neogeo", "Neo Geo"),
    ("nes", "Nintendo Entertainment System"),
    ("ngc", "Nintendo GameCube"),
    ("ngp", "Neo Geo Pocket"),
    ("ngpc", "Neo Geo Pocket Color"),
    ("pc-engine", "PC Engine / TurboGrafx-16"),
    ("pce", "PC Engine / TurboGrafx-16"),
    ("ps", "PlayStation"),
    ("ps2", "PlayStation 2"),
    ("ps3", "PlayStation 3"),
    ("psp", "PlayStation Portable"),
    ("psvita", "PlayStation Vita"),
    ("psx", "PlayStation"),
    ("saturn", "Sega Saturn"),
    ("scummvm", "ScummVM"),
    ("sega-cd", "Sega CD"),
    ("sega32", "Sega 32X"),
    ("segacd", "Sega CD"),
    ("sms", "Sega Master System"),
    ("snes", "Super Nintendo Entertainment System"),
    ("switch", "Nintendo Switch"),
    ("tg16", "PC Engine / TurboGrafx-16"),
    ("turbografx16--1", "PC Engine / TurboGrafx-16"),
    ("vb", "Virtual Boy"),
    ("virtualboy", "Virtual Boy"),
    ("wii", "Wii"),
    ("wiiu", "Wii U"),
    ("wonderswan", "WonderSwan"),
    ("wonderswan-color", "WonderSwan Color"),
    ("xbox", "Xbox"),
    ("xbox360", "Xbox 360"),
];

/// The readable name of platform `slug` (case-insensitive), or the slug.
pub fn platform_name(slug: &str) -> &str {
    let wanted = slug.to_ascii_lowercase();
    NAMES
        .binary_search_by(|(known, _)| known.cmp(&wanted.as_str()))
        .ok()
        .and_then(|i| NAMES.get(i))
        .map_or(slug, |(_, name)| name)
}

/// A platform's name as shown: the built-in readable name while the stored
/// one is just the slug, else the stored one.
pub fn display_name(slug: &str, stored: String) -> String {
    if stored == slug {
        platform_name(slug).to_string()
    } else {
        stored
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_slugs_read_as_names_and_unknown_ones_as_themselves() {
        assert_eq!(platform_name("n64"), "Nintendo 64");
        assert_eq!(platform_name("GBA"), "Game Boy Advance");
        assert_eq!(platform_name("megadrive"), platform_name("genesis"));
        assert_eq!(platform_name("gc"), platform_name("ngc"));
        assert_eq!(platform_name("my-homebrew"), "my-homebrew");
        assert_eq!(platform_name(""), "");
        assert_eq!(display_name("n64", "n64".to_string()), "Nintendo 64");
        assert_eq!(display_name("n64", "My N64".to_string()), "My N64");
    }

    #[test]
    fn the_table_is_sorted_without_duplicates_for_the_binary_search() {
        for pair in NAMES.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{} then {}", pair[0].0, pair[1].0);
        }
    }
}
