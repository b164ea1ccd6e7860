/// A QR code (ISO/IEC 18004) of a device sign-in URL, so the user can open it on a phone
/// instead of typing it. Only what that needs: byte mode, error correction level M (a
/// terminal rendering is clean, so M's 15% is plenty), versions 1 to 10. Written here
/// rather than taken from a package: it is small, and the CLI stays dependency-light.
///
/// About 370 lines: most are the standard's tables (capacities, block layout, alignment).
struct QRCode: Sendable, Equatable {
    /// Modules per side: 21 for version 1, 4 more for each version after it.
    let size: Int
    /// 1...10: the smallest version whose level-M capacity holds the text, so the code
    /// stays as small (and as easy to scan from a terminal) as it can.
    let version: Int
    /// 0...7: the data mask, chosen by the standard's penalty rules unless forced.
    let mask: Int
    /// Row-major, `true` for dark.
    private let modules: [Bool]

    /// Whether the module at column `x`, row `y` (both from the top left) is dark.
    subscript(x: Int, y: Int) -> Bool { modules[y * size + x] }

    /// The text's UTF-8 bytes in byte mode (scanners read them as UTF-8; URLs are ASCII
    /// anyway), or nil when they do not fit in version 10-M (213 bytes), too dense to
    /// scan reliably off a terminal. `mask` forces a mask (0...7), for tests; nil lets
    /// the penalty rules choose, the lowest penalty winning and ties going to the lower mask.
    init?(encoding text: String, mask forcedMask: Int? = nil) {
        precondition(forcedMask.map { (0...7).contains($0) } ?? true, "a QR mask is 0...7")
        let bytes = Array(text.utf8)
        guard let version = (1...10).first(where: { bytes.count <= Self.capacity(version: $0) }) else { return nil }
        var matrix = Matrix(version: version)
        matrix.place(Self.codewords(bytes, version: version))
        let mask: Int
        if let forcedMask {
            mask = forcedMask
        } else {
            let penalties = (0..<8).map { matrix.masked($0).penalty }
            mask = penalties.indices.min { penalties[$0] < penalties[$1] }!
        }
        self.size = matrix.size
        self.version = version
        self.mask = mask
        var symbol = matrix.masked(mask)
        symbol.drawFormatAndVersion(mask: mask)
        self.modules = symbol.dark
    }

    /// The code as text, two module rows per line with the half blocks "▀" and "▄", so it
    /// is square in most fonts and half as tall as one row per line.
    ///
    /// A block character lights its cells in the terminal's foreground colour. With
    /// `inverted: false` dark modules are blocks: right on a light background (dark text).
    /// With `inverted: true`, the default because terminals are most often dark, light
    /// modules and the quiet zone are blocks, which again shows dark modules on light.
    /// Scanners want the quiet zone light; `quietZone` is its width in modules (the
    /// standard asks for 4; phones manage with 2, and it saves terminal space).
    func terminalLines(quietZone: Int = 2, inverted: Bool = true) -> [String] {
        precondition(quietZone >= 0, "a quiet zone cannot be negative")
        let span = size + 2 * quietZone
        func lit(_ x: Int, _ y: Int) -> Bool {
            // The half-line below the last row (the span is odd) stays terminal background.
            guard y < span else { return false }
            let (column, row) = (x - quietZone, y - quietZone)
            let dark = (0..<size).contains(column) && (0..<size).contains(row) && self[column, row]
            return dark != inverted
        }
        return stride(from: 0, to: span, by: 2).map { y in
            String((0..<span).map { x -> Character in
                switch (lit(x, y), lit(x, y + 1)) {
                case (true, true): "█"
                case (true, false): "▀"
                case (false, true): "▄"
                case (false, false): " "
                }
            })
        }
    }
}

// MARK: - Data and error correction

extension QRCode {
    /// Per version 1...10 at level M (ISO/IEC 18004 table 9): all codewords, error
    /// correction codewords per block, and blocks.
    private static let totalCodewords = [26, 44, 70, 100, 134, 172, 196, 242, 292, 346]
    private static let eccPerBlock = [10, 16, 26, 18, 24, 16, 18, 22, 22, 26]
    private static let blockCount = [1, 1, 1, 2, 2, 4, 4, 4, 5, 5]

    private static func dataCodewords(version: Int) -> Int {
        totalCodewords[version - 1] - eccPerBlock[version - 1] * blockCount[version - 1]
    }

    /// The byte-mode character count takes 8 bits up to version 9, 16 from version 10.
    private static func countBits(version: Int) -> Int { version <= 9 ? 8 : 16 }

    /// Bytes that fit after the 4-bit mode indicator and the character count.
    static func capacity(version: Int) -> Int {
        (dataCodewords(version: version) * 8 - 4 - countBits(version: version)) / 8
    }

    /// The final codeword sequence: data (mode, count, bytes, terminator, padding) split
    /// into blocks, each with its Reed-Solomon codewords, then both interleaved so that
    /// damage in one place of the symbol spreads over several blocks.
    private static func codewords(_ bytes: [UInt8], version: Int) -> [UInt8] {
        let capacity = dataCodewords(version: version)
        var bits: [Bool] = []
        func append(_ value: Int, _ count: Int) {
            for shift in stride(from: count - 1, through: 0, by: -1) { bits.append((value >> shift) & 1 == 1) }
        }
        append(0b0100, 4)
        append(bytes.count, countBits(version: version))
        for byte in bytes { append(Int(byte), 8) }
        append(0, min(4, capacity * 8 - bits.count))
        append(0, (8 - bits.count % 8) % 8)
        var data = stride(from: 0, to: bits.count, by: 8).map { start in
            bits[start..<start + 8].reduce(UInt8(0)) { $0 << 1 | ($1 ? 1 : 0) }
        }
        for pad in 0..<(capacity - data.count) { data.append(pad % 2 == 0 ? 0xEC : 0x11) }

        let blocks = blockCount[version - 1]
        let eccCount = eccPerBlock[version - 1]
        let shortLength = capacity / blocks
        let shortBlocks = blocks - capacity % blocks
        let generator = reedSolomonGenerator(degree: eccCount)
        var dataBlocks: [[UInt8]] = []
        var start = 0
        for block in 0..<blocks {
            let length = shortLength + (block < shortBlocks ? 0 : 1)
            dataBlocks.append(Array(data[start..<start + length]))
            start += length
        }
        let eccBlocks = dataBlocks.map { reedSolomonRemainder($0, generator: generator) }
        var result: [UInt8] = []
        for index in 0...shortLength {
            for block in dataBlocks where index < block.count { result.append(block[index]) }
        }
        for index in 0..<eccCount {
            for block in eccBlocks { result.append(block[index]) }
        }
        return result
    }

    /// GF(256) with the QR polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11D): antilogarithms
    /// (doubled, so a product needs no modulo) and logarithms.
    private static let gfExp: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 512)
        var value = 1
        for power in 0..<255 {
            table[power] = UInt8(value)
            table[power + 255] = UInt8(value)
            value <<= 1
            if value & 0x100 != 0 { value ^= 0x11D }
        }
        return table
    }()
    private static let gfLog: [Int] = {
        var table = [Int](repeating: 0, count: 256)
        for power in 0..<255 { table[Int(gfExp[power])] = power }
        return table
    }()

    private static func gfMultiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
        a == 0 || b == 0 ? 0 : gfExp[gfLog[Int(a)] + gfLog[Int(b)]]
    }

    /// (x - α^0)(x - α^1)…(x - α^(degree-1)), coefficients from the highest power, the
    /// leading 1 left out.
    private static func reedSolomonGenerator(degree: Int) -> [UInt8] {
        var coefficients = [UInt8](repeating: 0, count: degree - 1) + [1]
        var root: UInt8 = 1
        for _ in 0..<degree {
            for index in 0..<degree {
                coefficients[index] = gfMultiply(coefficients[index], root)
                if index + 1 < degree { coefficients[index] ^= coefficients[index + 1] }
            }
            root = gfMultiply(root, 2)
        }
        return coefficients
    }

    /// The error correction codewords: the data, times x^degree, modulo the generator.
    private static func reedSolomonRemainder(_ data: [UInt8], generator: [UInt8]) -> [UInt8] {
        var remainder = [UInt8](repeating: 0, count: generator.count)
        for byte in data {
            let factor = byte ^ remainder.removeFirst()
            remainder.append(0)
            for index in generator.indices { remainder[index] ^= gfMultiply(generator[index], factor) }
        }
        return remainder
    }
}

// MARK: - The module matrix

extension QRCode {
    /// The symbol while it is built: modules, and which of them are function patterns
    /// (kept out of data placement and masking).
    private struct Matrix {
        let version: Int
        let size: Int
        var dark: [Bool]
        var reserved: [Bool]

        /// Centres of alignment patterns, per version 1...10 (ISO/IEC 18004 annex E).
        static let alignmentCentres: [[Int]] = [
            [], [6, 18], [6, 22], [6, 26], [6, 30], [6, 34], [6, 22, 38], [6, 24, 42], [6, 26, 46], [6, 28, 50],
        ]

        /// The function patterns, with the format and version areas reserved (light).
        init(version: Int) {
            self.version = version
            size = 4 * version + 17
            dark = Array(repeating: false, count: size * size)
            reserved = dark
            for index in 0..<size {
                set(6, index, index % 2 == 0)
                set(index, 6, index % 2 == 0)
            }
            // Finders with their light separators; the parts past the edge are skipped.
            for (centreX, centreY) in [(3, 3), (size - 4, 3), (3, size - 4)] {
                for dy in -4...4 {
                    for dx in -4...4 {
                        let (x, y) = (centreX + dx, centreY + dy)
                        guard (0..<size).contains(x), (0..<size).contains(y) else { continue }
                        let ring = max(abs(dx), abs(dy))
                        set(x, y, ring != 2 && ring != 4)
                    }
                }
            }
            let centres = Self.alignmentCentres[version - 1]
            for (i, centreX) in centres.enumerated() {
                for (j, centreY) in centres.enumerated() {
                    // Not over the three finders.
                    if (i == 0 && j == 0) || (i == 0 && j == centres.count - 1) || (i == centres.count - 1 && j == 0) {
                        continue
                    }
                    for dy in -2...2 {
                        for dx in -2...2 { set(centreX + dx, centreY + dy, max(abs(dx), abs(dy)) != 1) }
                    }
                }
            }
            drawFormatAndVersion(mask: nil)
        }

        mutating func set(_ x: Int, _ y: Int, _ isDark: Bool) {
            dark[y * size + x] = isDark
            reserved[y * size + x] = true
        }

        /// Codeword bits, most significant first, in two-column strips from the bottom
        /// right, alternately upwards and downwards, skipping function modules and the
        /// vertical timing column. Modules left over (remainder bits) stay light.
        mutating func place(_ codewords: [UInt8]) {
            var bit = 0
            var right = size - 1
            while right >= 1 {
                if right == 6 { right = 5 }
                let upward = (right + 1) & 2 == 0
                for step in 0..<size {
                    let y = upward ? size - 1 - step : step
                    for x in [right, right - 1] where !reserved[y * size + x] && bit < codewords.count * 8 {
                        dark[y * size + x] = (codewords[bit >> 3] >> (7 - (bit & 7))) & 1 == 1
                        bit += 1
                    }
                }
                right -= 2
            }
        }

        /// The 15 format bits: level M (00) and the mask, a BCH(15,5) code, XOR 0x5412
        /// (so they are never all light); two copies, and the dark module beside one. From
        /// version 7, the version in 6 bits and a BCH(18,6) code, two 6×3 copies beside the
        /// top-right and bottom-left finders. With a nil mask all these modules are light:
        /// the state masks are scored in, since the standard adds this information after
        /// choosing the mask (ISO/IEC 18004 7.1, steps 6 and 7), as the reference encoders do.
        mutating func drawFormatAndVersion(mask: Int?) {
            var bits = 0
            if let mask {
                let data = mask  // Level M's indicator is 00.
                var remainder = data
                for _ in 0..<10 { remainder = (remainder << 1) ^ ((remainder >> 9) * 0x537) }
                bits = (data << 10 | remainder) ^ 0x5412
            }
            func bit(_ index: Int) -> Bool { (bits >> index) & 1 == 1 }
            for index in 0...5 { set(8, index, bit(index)) }
            set(8, 7, bit(6))
            set(8, 8, bit(7))
            set(7, 8, bit(8))
            for index in 9..<15 { set(14 - index, 8, bit(index)) }
            for index in 0..<8 { set(size - 1 - index, 8, bit(index)) }
            for index in 8..<15 { set(8, size - 15 + index, bit(index)) }
            set(8, size - 8, mask != nil)
            guard version >= 7 else { return }
            var remainder = version
            for _ in 0..<12 { remainder = (remainder << 1) ^ ((remainder >> 11) * 0x1F25) }
            let versionBits = mask == nil ? 0 : version << 12 | remainder
            for index in 0..<18 {
                let isDark = (versionBits >> index) & 1 == 1
                let (a, b) = (size - 11 + index % 3, index / 3)
                set(a, b, isDark)
                set(b, a, isDark)
            }
        }

        /// The symbol with data mask `mask` applied to everything but the function patterns.
        func masked(_ mask: Int) -> Matrix {
            var result = self
            for y in 0..<size {
                for x in 0..<size where !reserved[y * size + x] {
                    let flip =
                        switch mask {
                        case 0: (x + y) % 2 == 0
                        case 1: y % 2 == 0
                        case 2: x % 3 == 0
                        case 3: (x + y) % 3 == 0
                        case 4: (x / 3 + y / 2) % 2 == 0
                        case 5: x * y % 2 + x * y % 3 == 0
                        case 6: (x * y % 2 + x * y % 3) % 2 == 0
                        default: ((x + y) % 2 + x * y % 3) % 2 == 0
                        }
                    if flip { result.dark[y * size + x].toggle() }
                }
            }
            return result
        }

        /// ISO/IEC 18004 7.8.3, so scanners meet no false finders or long runs: N1, 3 +
        /// (length - 5) for each run of 5 or more same-coloured modules in a row or column;
        /// N2, 3 for each 2×2 block of one colour; N3, 40 for each 1:1:3:1:1 finder look-alike
        /// with 4 light modules on one side, the quiet zone counting as light (as zxing and
        /// segno do; python-qrcode looks inside the symbol only, so it sometimes picks another
        /// mask); N4, 10 for each full 5% the dark share is off 50%.
        var penalty: Int {
            var total = 0
            func module(_ line: Int, _ index: Int, _ horizontal: Bool) -> Bool {
                horizontal ? dark[line * size + index] : dark[index * size + line]
            }
            for horizontal in [true, false] {
                for line in 0..<size {
                    var run = 1
                    for index in 1...size {
                        if index < size && module(line, index, horizontal) == module(line, index - 1, horizontal) {
                            run += 1
                        } else {
                            if run >= 5 { total += run - 2 }
                            run = 1
                        }
                    }
                    func light(_ from: Int, _ to: Int) -> Bool {
                        (max(from, 0)..<min(to, size)).allSatisfy { !module(line, $0, horizontal) }
                    }
                    for index in 0..<(size - 6) {
                        let pattern = (0..<7).allSatisfy { module(line, index + $0, horizontal) == ($0 != 1 && $0 != 5) }
                        if pattern && (light(index - 4, index) || light(index + 7, index + 11)) { total += 40 }
                    }
                }
            }
            for y in 0..<(size - 1) {
                for x in 0..<(size - 1) {
                    let colour = dark[y * size + x]
                    if dark[y * size + x + 1] == colour && dark[(y + 1) * size + x] == colour
                        && dark[(y + 1) * size + x + 1] == colour
                    {
                        total += 3
                    }
                }
            }
            let darkCount = dark.lazy.filter { $0 }.count
            total += abs(darkCount * 2 - size * size) * 10 / (size * size) * 10
            return total
        }
    }
}
