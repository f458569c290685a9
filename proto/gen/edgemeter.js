/*eslint-disable block-scoped-var, id-length, no-control-regex, no-magic-numbers, no-mixed-operators, no-prototype-builtins, no-redeclare, no-shadow, no-var, sort-vars, default-case, jsdoc/require-param*/
import $protobuf from "protobufjs/minimal.js";

// Common aliases
const $Reader = $protobuf.Reader, $Writer = $protobuf.Writer, $util = $protobuf.util;
const $Object = $util.global.Object, $undefined = $util.global.undefined, $Error = $util.global.Error, $RangeError = $util.global.RangeError;

// Exported root namespace
const $root = $protobuf.roots["default"] || ($protobuf.roots["default"] = {});

export const edgemeter = $root.edgemeter = (() => {

    /**
     * Namespace edgemeter.
     * @exports edgemeter
     * @namespace
     */
    const edgemeter = {};

    edgemeter.v1 = (function() {

        /**
         * Namespace v1.
         * @memberof edgemeter
         * @namespace
         */
        const v1 = {};

        v1.DeviceReport = (function() {

            /**
             * Properties of a DeviceReport.
             * @typedef {Object} edgemeter.v1.DeviceReport.$Properties
             * @property {number|null} [seq] DeviceReport seq
             * @property {string|null} [id] DeviceReport id
             * @property {string|null} [boot] DeviceReport boot
             * @property {number|null} [tsMs] DeviceReport tsMs
             * @property {number|null} [startMs] DeviceReport startMs
             * @property {number|null} [up] DeviceReport up
             * @property {number|null} [down] DeviceReport down
             * @property {Object.<string,number>|null} [meters] DeviceReport meters
             * @property {Object.<string,string>|null} [dims] DeviceReport dims
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a DeviceReport.
             * @memberof edgemeter.v1
             * @interface IDeviceReport
             * @augments edgemeter.v1.DeviceReport.$Properties
             * @deprecated Use edgemeter.v1.DeviceReport.$Properties instead.
             */

            /**
             * Shape of a DeviceReport.
             * @typedef {edgemeter.v1.DeviceReport.$Properties} edgemeter.v1.DeviceReport.$Shape
             */

            /**
             * Constructs a new DeviceReport.
             * @memberof edgemeter.v1
             * @classdesc Represents a DeviceReport.
             * @constructor
             * @param {edgemeter.v1.DeviceReport.$Properties=} [p] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const DeviceReport = function (p) {
                this.meters = {};
                this.dims = {};
                if (p)
                    for (var ks = $Object.keys(p), i = 0; i < ks.length; ++i)
                        if (p[ks[i]] != null && ks[i] !== "__proto__")
                            this[ks[i]] = p[ks[i]];
            };

            /**
             * DeviceReport seq.
             * @member {number|null|undefined} seq
             * @memberof edgemeter.v1.DeviceReport
             * @instance
             */
            DeviceReport.prototype.seq = null;

            /**
             * DeviceReport id.
             * @member {string|null|undefined} id
             * @memberof edgemeter.v1.DeviceReport
             * @instance
             */
            DeviceReport.prototype.id = null;

            /**
             * DeviceReport boot.
             * @member {string|null|undefined} boot
             * @memberof edgemeter.v1.DeviceReport
             * @instance
             */
            DeviceReport.prototype.boot = null;

            /**
             * DeviceReport tsMs.
             * @member {number} tsMs
             * @memberof edgemeter.v1.DeviceReport
             * @instance
             */
            DeviceReport.prototype.tsMs = $util.Long ? $util.Long.fromBits(0,0,false) : 0;

            /**
             * DeviceReport startMs.
             * @member {number|null|undefined} startMs
             * @memberof edgemeter.v1.DeviceReport
             * @instance
             */
            DeviceReport.prototype.startMs = null;

            /**
             * DeviceReport up.
             * @member {number} up
             * @memberof edgemeter.v1.DeviceReport
             * @instance
             */
            DeviceReport.prototype.up = $util.Long ? $util.Long.fromBits(0,0,true) : 0;

            /**
             * DeviceReport down.
             * @member {number} down
             * @memberof edgemeter.v1.DeviceReport
             * @instance
             */
            DeviceReport.prototype.down = $util.Long ? $util.Long.fromBits(0,0,true) : 0;

            /**
             * DeviceReport meters.
             * @member {Object.<string,number>} meters
             * @memberof edgemeter.v1.DeviceReport
             * @instance
             */
            DeviceReport.prototype.meters = $util.emptyObject;

            /**
             * DeviceReport dims.
             * @member {Object.<string,string>} dims
             * @memberof edgemeter.v1.DeviceReport
             * @instance
             */
            DeviceReport.prototype.dims = $util.emptyObject;

            // OneOf field names bound to virtual getters and setters
            let $oneOfFields;

            // Virtual OneOf for proto3 optional field
            $Object.defineProperty(DeviceReport.prototype, "_seq", {
                get: $util.oneOfGetter($oneOfFields = ["seq"]),
                set: $util.oneOfSetter($oneOfFields)
            });

            // Virtual OneOf for proto3 optional field
            $Object.defineProperty(DeviceReport.prototype, "_id", {
                get: $util.oneOfGetter($oneOfFields = ["id"]),
                set: $util.oneOfSetter($oneOfFields)
            });

            // Virtual OneOf for proto3 optional field
            $Object.defineProperty(DeviceReport.prototype, "_boot", {
                get: $util.oneOfGetter($oneOfFields = ["boot"]),
                set: $util.oneOfSetter($oneOfFields)
            });

            // Virtual OneOf for proto3 optional field
            $Object.defineProperty(DeviceReport.prototype, "_startMs", {
                get: $util.oneOfGetter($oneOfFields = ["startMs"]),
                set: $util.oneOfSetter($oneOfFields)
            });

            /**
             * Creates a new DeviceReport instance using the specified properties.
             * @function create
             * @memberof edgemeter.v1.DeviceReport
             * @static
             * @param {edgemeter.v1.DeviceReport.$Properties=} [properties] Properties to set
             * @returns {edgemeter.v1.DeviceReport} DeviceReport instance
             * @type {{
             *   (properties: edgemeter.v1.DeviceReport.$Shape): edgemeter.v1.DeviceReport & edgemeter.v1.DeviceReport.$Shape;
             *   (properties?: edgemeter.v1.DeviceReport.$Properties): edgemeter.v1.DeviceReport;
             * }}
             */
            DeviceReport.create = function(properties) {
                return new DeviceReport(properties);
            };

            /**
             * Encodes the specified DeviceReport message. Does not implicitly {@link edgemeter.v1.DeviceReport.verify|verify} messages.
             * @function encode
             * @memberof edgemeter.v1.DeviceReport
             * @static
             * @param {edgemeter.v1.DeviceReport.$Properties} m DeviceReport message or plain object to encode
             * @param {$protobuf.Writer} [w] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            DeviceReport.encode = function (m, w, q) {
                if (!w)
                    w = $Writer.create();
                if (q === $undefined)
                    q = 0;
                if (q > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (m.seq != null && $Object.hasOwnProperty.call(m, "seq"))
                    w.uint32(/* id 1, wireType 0 =*/8).uint64(m.seq);
                if (m.id != null && $Object.hasOwnProperty.call(m, "id"))
                    w.uint32(/* id 2, wireType 2 =*/18).string(m.id);
                if (m.boot != null && $Object.hasOwnProperty.call(m, "boot"))
                    w.uint32(/* id 3, wireType 2 =*/26).string(m.boot);
                if (m.tsMs != null && $Object.hasOwnProperty.call(m, "tsMs") && (typeof m.tsMs === "object" ? m.tsMs.low || m.tsMs.high : m.tsMs !== 0))
                    w.uint32(/* id 4, wireType 0 =*/32).int64(m.tsMs);
                if (m.startMs != null && $Object.hasOwnProperty.call(m, "startMs"))
                    w.uint32(/* id 5, wireType 0 =*/40).int64(m.startMs);
                if (m.up != null && $Object.hasOwnProperty.call(m, "up") && (typeof m.up === "object" ? m.up.low || m.up.high : m.up !== 0))
                    w.uint32(/* id 6, wireType 0 =*/48).uint64(m.up);
                if (m.down != null && $Object.hasOwnProperty.call(m, "down") && (typeof m.down === "object" ? m.down.low || m.down.high : m.down !== 0))
                    w.uint32(/* id 7, wireType 0 =*/56).uint64(m.down);
                if (m.meters != null && $Object.hasOwnProperty.call(m, "meters")) {
                    for (var ks = $Object.keys(m.meters), i = 0; i < ks.length; ++i) {
                        w.uint32(/* id 8, wireType 2 =*/66).fork().uint32(/* id 1, wireType 2 =*/10).string(ks[i]).uint32(/* id 2, wireType 1 =*/17).double(m.meters[ks[i]]).ldelim();
                    }
                }
                if (m.dims != null && $Object.hasOwnProperty.call(m, "dims")) {
                    for (var ks = $Object.keys(m.dims), i = 0; i < ks.length; ++i) {
                        w.uint32(/* id 9, wireType 2 =*/74).fork().uint32(/* id 1, wireType 2 =*/10).string(ks[i]).uint32(/* id 2, wireType 2 =*/18).string(m.dims[ks[i]]).ldelim();
                    }
                }
                if (m.$unknowns != null && $Object.hasOwnProperty.call(m, "$unknowns"))
                    for (var i = 0; i < m.$unknowns.length; ++i)
                        w.raw(m.$unknowns[i]);
                return w;
            };

            /**
             * Decodes a DeviceReport message from the specified reader or buffer.
             * @function decode
             * @memberof edgemeter.v1.DeviceReport
             * @static
             * @param {$protobuf.Reader|Uint8Array} r Reader or buffer to decode from
             * @param {number} [l] Message length if known beforehand
             * @returns {edgemeter.v1.DeviceReport & edgemeter.v1.DeviceReport.$Shape} DeviceReport
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            DeviceReport.decode = function (r, l, z, q, g) {
                if (!(r instanceof $Reader))
                    r = $Reader.create(r);
                if (q === $undefined)
                    q = 0;
                if (q > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                var c, m, k, v;
                if (l === $undefined)
                    c = r.len;
                else {
                    c = r.pos + l;
                    if (c > r.len)
                        throw $RangeError("index out of range");
                    l = r.len;
                    r.len = c;
                }
                m = g || new $root.edgemeter.v1.DeviceReport();
                while (r.pos < c) {
                    var s = r.pos;
                    var t = r.tag();
                    if (t === z) {
                        z = $undefined;
                        break;
                    }
                    var u = t & 7;
                    switch (t >>>= 3) {
                    case 1: {
                            if (u !== 0)
                                break;
                            m.seq = r.uint64();
                            m._seq = "seq";
                            continue;
                        }
                    case 2: {
                            if (u !== 2)
                                break;
                            m.id = r.stringVerify();
                            m._id = "id";
                            continue;
                        }
                    case 3: {
                            if (u !== 2)
                                break;
                            m.boot = r.stringVerify();
                            m._boot = "boot";
                            continue;
                        }
                    case 4: {
                            if (u !== 0)
                                break;
                            if (typeof (v = r.int64()) === "object" ? v.low || v.high : v !== 0)
                                m.tsMs = v;
                            else
                                delete m.tsMs;
                            continue;
                        }
                    case 5: {
                            if (u !== 0)
                                break;
                            m.startMs = r.int64();
                            m._startMs = "startMs";
                            continue;
                        }
                    case 6: {
                            if (u !== 0)
                                break;
                            if (typeof (v = r.uint64()) === "object" ? v.low || v.high : v !== 0)
                                m.up = v;
                            else
                                delete m.up;
                            continue;
                        }
                    case 7: {
                            if (u !== 0)
                                break;
                            if (typeof (v = r.uint64()) === "object" ? v.low || v.high : v !== 0)
                                m.down = v;
                            else
                                delete m.down;
                            continue;
                        }
                    case 8: {
                            if (u !== 2)
                                break;
                            if (m.meters === $util.emptyObject)
                                m.meters = {};
                            var c2 = r.size() + r.pos;
                            if (c2 > r.len)
                                throw $RangeError("index out of range");
                            r.len = c2;
                            k = "";
                            v = 0;
                            while (r.pos < c2) {
                                var t2 = r.tag();
                                u = t2 & 7;
                                switch (t2 >>>= 3) {
                                case 1:
                                    if (u !== 2)
                                        break;
                                    k = r.stringVerify();
                                    continue;
                                case 2:
                                    if (u !== 1)
                                        break;
                                    v = r.double();
                                    continue;
                                }
                                r.skipType(u, q, t2);
                            }
                            if (r.pos !== c2)
                                throw $RangeError("index out of range");
                            r.len = c;
                            if (k === "__proto__")
                                $util.makeProp(m.meters, k);
                            m.meters[k] = v;
                            continue;
                        }
                    case 9: {
                            if (u !== 2)
                                break;
                            if (m.dims === $util.emptyObject)
                                m.dims = {};
                            var c2 = r.size() + r.pos;
                            if (c2 > r.len)
                                throw $RangeError("index out of range");
                            r.len = c2;
                            k = "";
                            v = "";
                            while (r.pos < c2) {
                                var t2 = r.tag();
                                u = t2 & 7;
                                switch (t2 >>>= 3) {
                                case 1:
                                    if (u !== 2)
                                        break;
                                    k = r.stringVerify();
                                    continue;
                                case 2:
                                    if (u !== 2)
                                        break;
                                    v = r.stringVerify();
                                    continue;
                                }
                                r.skipType(u, q, t2);
                            }
                            if (r.pos !== c2)
                                throw $RangeError("index out of range");
                            r.len = c;
                            if (k === "__proto__")
                                $util.makeProp(m.dims, k);
                            m.dims[k] = v;
                            continue;
                        }
                    }
                    r.skipType(u, q, t);
                    if (!r.discardUnknown) {
                        $util.makeProp(m, "$unknowns", false);
                        (m.$unknowns || (m.$unknowns = [])).push(r.raw(s, r.pos));
                    }
                }
                if (l !== $undefined) {
                    if (r.pos !== c)
                        throw $RangeError("index out of range");
                    r.len = l;
                }
                if (z !== $undefined)
                    throw $Error("missing end group");
                return m;
            };

            /**
             * Gets the type url for DeviceReport
             * @function getTypeUrl
             * @memberof edgemeter.v1.DeviceReport
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            DeviceReport.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/edgemeter.v1.DeviceReport";
            };

            return DeviceReport;
        })();

        v1.UsageRecord = (function() {

            /**
             * Properties of a UsageRecord.
             * @typedef {Object} edgemeter.v1.UsageRecord.$Properties
             * @property {string|null} [deviceId] UsageRecord deviceId
             * @property {number|null} [seq] UsageRecord seq
             * @property {string|null} [id] UsageRecord id
             * @property {string|null} [boot] UsageRecord boot
             * @property {number|null} [startMs] UsageRecord startMs
             * @property {number|null} [endMs] UsageRecord endMs
             * @property {number|null} [up] UsageRecord up
             * @property {number|null} [down] UsageRecord down
             * @property {Object.<string,number>|null} [meters] UsageRecord meters
             * @property {Object.<string,string>|null} [dims] UsageRecord dims
             * @property {number|null} [receivedMs] UsageRecord receivedMs
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a UsageRecord.
             * @memberof edgemeter.v1
             * @interface IUsageRecord
             * @augments edgemeter.v1.UsageRecord.$Properties
             * @deprecated Use edgemeter.v1.UsageRecord.$Properties instead.
             */

            /**
             * Shape of a UsageRecord.
             * @typedef {edgemeter.v1.UsageRecord.$Properties} edgemeter.v1.UsageRecord.$Shape
             */

            /**
             * Constructs a new UsageRecord.
             * @memberof edgemeter.v1
             * @classdesc Represents a UsageRecord.
             * @constructor
             * @param {edgemeter.v1.UsageRecord.$Properties=} [p] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const UsageRecord = function (p) {
                this.meters = {};
                this.dims = {};
                if (p)
                    for (var ks = $Object.keys(p), i = 0; i < ks.length; ++i)
                        if (p[ks[i]] != null && ks[i] !== "__proto__")
                            this[ks[i]] = p[ks[i]];
            };

            /**
             * UsageRecord deviceId.
             * @member {string} deviceId
             * @memberof edgemeter.v1.UsageRecord
             * @instance
             */
            UsageRecord.prototype.deviceId = "";

            /**
             * UsageRecord seq.
             * @member {number|null|undefined} seq
             * @memberof edgemeter.v1.UsageRecord
             * @instance
             */
            UsageRecord.prototype.seq = null;

            /**
             * UsageRecord id.
             * @member {string|null|undefined} id
             * @memberof edgemeter.v1.UsageRecord
             * @instance
             */
            UsageRecord.prototype.id = null;

            /**
             * UsageRecord boot.
             * @member {string|null|undefined} boot
             * @memberof edgemeter.v1.UsageRecord
             * @instance
             */
            UsageRecord.prototype.boot = null;

            /**
             * UsageRecord startMs.
             * @member {number|null|undefined} startMs
             * @memberof edgemeter.v1.UsageRecord
             * @instance
             */
            UsageRecord.prototype.startMs = null;

            /**
             * UsageRecord endMs.
             * @member {number} endMs
             * @memberof edgemeter.v1.UsageRecord
             * @instance
             */
            UsageRecord.prototype.endMs = $util.Long ? $util.Long.fromBits(0,0,false) : 0;

            /**
             * UsageRecord up.
             * @member {number} up
             * @memberof edgemeter.v1.UsageRecord
             * @instance
             */
            UsageRecord.prototype.up = $util.Long ? $util.Long.fromBits(0,0,true) : 0;

            /**
             * UsageRecord down.
             * @member {number} down
             * @memberof edgemeter.v1.UsageRecord
             * @instance
             */
            UsageRecord.prototype.down = $util.Long ? $util.Long.fromBits(0,0,true) : 0;

            /**
             * UsageRecord meters.
             * @member {Object.<string,number>} meters
             * @memberof edgemeter.v1.UsageRecord
             * @instance
             */
            UsageRecord.prototype.meters = $util.emptyObject;

            /**
             * UsageRecord dims.
             * @member {Object.<string,string>} dims
             * @memberof edgemeter.v1.UsageRecord
             * @instance
             */
            UsageRecord.prototype.dims = $util.emptyObject;

            /**
             * UsageRecord receivedMs.
             * @member {number} receivedMs
             * @memberof edgemeter.v1.UsageRecord
             * @instance
             */
            UsageRecord.prototype.receivedMs = $util.Long ? $util.Long.fromBits(0,0,false) : 0;

            // OneOf field names bound to virtual getters and setters
            let $oneOfFields;

            // Virtual OneOf for proto3 optional field
            $Object.defineProperty(UsageRecord.prototype, "_seq", {
                get: $util.oneOfGetter($oneOfFields = ["seq"]),
                set: $util.oneOfSetter($oneOfFields)
            });

            // Virtual OneOf for proto3 optional field
            $Object.defineProperty(UsageRecord.prototype, "_id", {
                get: $util.oneOfGetter($oneOfFields = ["id"]),
                set: $util.oneOfSetter($oneOfFields)
            });

            // Virtual OneOf for proto3 optional field
            $Object.defineProperty(UsageRecord.prototype, "_boot", {
                get: $util.oneOfGetter($oneOfFields = ["boot"]),
                set: $util.oneOfSetter($oneOfFields)
            });

            // Virtual OneOf for proto3 optional field
            $Object.defineProperty(UsageRecord.prototype, "_startMs", {
                get: $util.oneOfGetter($oneOfFields = ["startMs"]),
                set: $util.oneOfSetter($oneOfFields)
            });

            /**
             * Creates a new UsageRecord instance using the specified properties.
             * @function create
             * @memberof edgemeter.v1.UsageRecord
             * @static
             * @param {edgemeter.v1.UsageRecord.$Properties=} [properties] Properties to set
             * @returns {edgemeter.v1.UsageRecord} UsageRecord instance
             * @type {{
             *   (properties: edgemeter.v1.UsageRecord.$Shape): edgemeter.v1.UsageRecord & edgemeter.v1.UsageRecord.$Shape;
             *   (properties?: edgemeter.v1.UsageRecord.$Properties): edgemeter.v1.UsageRecord;
             * }}
             */
            UsageRecord.create = function(properties) {
                return new UsageRecord(properties);
            };

            /**
             * Encodes the specified UsageRecord message. Does not implicitly {@link edgemeter.v1.UsageRecord.verify|verify} messages.
             * @function encode
             * @memberof edgemeter.v1.UsageRecord
             * @static
             * @param {edgemeter.v1.UsageRecord.$Properties} m UsageRecord message or plain object to encode
             * @param {$protobuf.Writer} [w] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            UsageRecord.encode = function (m, w, q) {
                if (!w)
                    w = $Writer.create();
                if (q === $undefined)
                    q = 0;
                if (q > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (m.deviceId != null && $Object.hasOwnProperty.call(m, "deviceId") && m.deviceId !== "")
                    w.uint32(/* id 1, wireType 2 =*/10).string(m.deviceId);
                if (m.seq != null && $Object.hasOwnProperty.call(m, "seq"))
                    w.uint32(/* id 2, wireType 0 =*/16).uint64(m.seq);
                if (m.id != null && $Object.hasOwnProperty.call(m, "id"))
                    w.uint32(/* id 3, wireType 2 =*/26).string(m.id);
                if (m.boot != null && $Object.hasOwnProperty.call(m, "boot"))
                    w.uint32(/* id 4, wireType 2 =*/34).string(m.boot);
                if (m.startMs != null && $Object.hasOwnProperty.call(m, "startMs"))
                    w.uint32(/* id 5, wireType 0 =*/40).int64(m.startMs);
                if (m.endMs != null && $Object.hasOwnProperty.call(m, "endMs") && (typeof m.endMs === "object" ? m.endMs.low || m.endMs.high : m.endMs !== 0))
                    w.uint32(/* id 6, wireType 0 =*/48).int64(m.endMs);
                if (m.up != null && $Object.hasOwnProperty.call(m, "up") && (typeof m.up === "object" ? m.up.low || m.up.high : m.up !== 0))
                    w.uint32(/* id 7, wireType 0 =*/56).uint64(m.up);
                if (m.down != null && $Object.hasOwnProperty.call(m, "down") && (typeof m.down === "object" ? m.down.low || m.down.high : m.down !== 0))
                    w.uint32(/* id 8, wireType 0 =*/64).uint64(m.down);
                if (m.meters != null && $Object.hasOwnProperty.call(m, "meters")) {
                    for (var ks = $Object.keys(m.meters), i = 0; i < ks.length; ++i) {
                        w.uint32(/* id 9, wireType 2 =*/74).fork().uint32(/* id 1, wireType 2 =*/10).string(ks[i]).uint32(/* id 2, wireType 1 =*/17).double(m.meters[ks[i]]).ldelim();
                    }
                }
                if (m.dims != null && $Object.hasOwnProperty.call(m, "dims")) {
                    for (var ks = $Object.keys(m.dims), i = 0; i < ks.length; ++i) {
                        w.uint32(/* id 10, wireType 2 =*/82).fork().uint32(/* id 1, wireType 2 =*/10).string(ks[i]).uint32(/* id 2, wireType 2 =*/18).string(m.dims[ks[i]]).ldelim();
                    }
                }
                if (m.receivedMs != null && $Object.hasOwnProperty.call(m, "receivedMs") && (typeof m.receivedMs === "object" ? m.receivedMs.low || m.receivedMs.high : m.receivedMs !== 0))
                    w.uint32(/* id 11, wireType 0 =*/88).int64(m.receivedMs);
                if (m.$unknowns != null && $Object.hasOwnProperty.call(m, "$unknowns"))
                    for (var i = 0; i < m.$unknowns.length; ++i)
                        w.raw(m.$unknowns[i]);
                return w;
            };

            /**
             * Decodes a UsageRecord message from the specified reader or buffer.
             * @function decode
             * @memberof edgemeter.v1.UsageRecord
             * @static
             * @param {$protobuf.Reader|Uint8Array} r Reader or buffer to decode from
             * @param {number} [l] Message length if known beforehand
             * @returns {edgemeter.v1.UsageRecord & edgemeter.v1.UsageRecord.$Shape} UsageRecord
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            UsageRecord.decode = function (r, l, z, q, g) {
                if (!(r instanceof $Reader))
                    r = $Reader.create(r);
                if (q === $undefined)
                    q = 0;
                if (q > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                var c, m, k, v;
                if (l === $undefined)
                    c = r.len;
                else {
                    c = r.pos + l;
                    if (c > r.len)
                        throw $RangeError("index out of range");
                    l = r.len;
                    r.len = c;
                }
                m = g || new $root.edgemeter.v1.UsageRecord();
                while (r.pos < c) {
                    var s = r.pos;
                    var t = r.tag();
                    if (t === z) {
                        z = $undefined;
                        break;
                    }
                    var u = t & 7;
                    switch (t >>>= 3) {
                    case 1: {
                            if (u !== 2)
                                break;
                            if ((v = r.stringVerify()).length)
                                m.deviceId = v;
                            else
                                delete m.deviceId;
                            continue;
                        }
                    case 2: {
                            if (u !== 0)
                                break;
                            m.seq = r.uint64();
                            m._seq = "seq";
                            continue;
                        }
                    case 3: {
                            if (u !== 2)
                                break;
                            m.id = r.stringVerify();
                            m._id = "id";
                            continue;
                        }
                    case 4: {
                            if (u !== 2)
                                break;
                            m.boot = r.stringVerify();
                            m._boot = "boot";
                            continue;
                        }
                    case 5: {
                            if (u !== 0)
                                break;
                            m.startMs = r.int64();
                            m._startMs = "startMs";
                            continue;
                        }
                    case 6: {
                            if (u !== 0)
                                break;
                            if (typeof (v = r.int64()) === "object" ? v.low || v.high : v !== 0)
                                m.endMs = v;
                            else
                                delete m.endMs;
                            continue;
                        }
                    case 7: {
                            if (u !== 0)
                                break;
                            if (typeof (v = r.uint64()) === "object" ? v.low || v.high : v !== 0)
                                m.up = v;
                            else
                                delete m.up;
                            continue;
                        }
                    case 8: {
                            if (u !== 0)
                                break;
                            if (typeof (v = r.uint64()) === "object" ? v.low || v.high : v !== 0)
                                m.down = v;
                            else
                                delete m.down;
                            continue;
                        }
                    case 9: {
                            if (u !== 2)
                                break;
                            if (m.meters === $util.emptyObject)
                                m.meters = {};
                            var c2 = r.size() + r.pos;
                            if (c2 > r.len)
                                throw $RangeError("index out of range");
                            r.len = c2;
                            k = "";
                            v = 0;
                            while (r.pos < c2) {
                                var t2 = r.tag();
                                u = t2 & 7;
                                switch (t2 >>>= 3) {
                                case 1:
                                    if (u !== 2)
                                        break;
                                    k = r.stringVerify();
                                    continue;
                                case 2:
                                    if (u !== 1)
                                        break;
                                    v = r.double();
                                    continue;
                                }
                                r.skipType(u, q, t2);
                            }
                            if (r.pos !== c2)
                                throw $RangeError("index out of range");
                            r.len = c;
                            if (k === "__proto__")
                                $util.makeProp(m.meters, k);
                            m.meters[k] = v;
                            continue;
                        }
                    case 10: {
                            if (u !== 2)
                                break;
                            if (m.dims === $util.emptyObject)
                                m.dims = {};
                            var c2 = r.size() + r.pos;
                            if (c2 > r.len)
                                throw $RangeError("index out of range");
                            r.len = c2;
                            k = "";
                            v = "";
                            while (r.pos < c2) {
                                var t2 = r.tag();
                                u = t2 & 7;
                                switch (t2 >>>= 3) {
                                case 1:
                                    if (u !== 2)
                                        break;
                                    k = r.stringVerify();
                                    continue;
                                case 2:
                                    if (u !== 2)
                                        break;
                                    v = r.stringVerify();
                                    continue;
                                }
                                r.skipType(u, q, t2);
                            }
                            if (r.pos !== c2)
                                throw $RangeError("index out of range");
                            r.len = c;
                            if (k === "__proto__")
                                $util.makeProp(m.dims, k);
                            m.dims[k] = v;
                            continue;
                        }
                    case 11: {
                            if (u !== 0)
                                break;
                            if (typeof (v = r.int64()) === "object" ? v.low || v.high : v !== 0)
                                m.receivedMs = v;
                            else
                                delete m.receivedMs;
                            continue;
                        }
                    }
                    r.skipType(u, q, t);
                    if (!r.discardUnknown) {
                        $util.makeProp(m, "$unknowns", false);
                        (m.$unknowns || (m.$unknowns = [])).push(r.raw(s, r.pos));
                    }
                }
                if (l !== $undefined) {
                    if (r.pos !== c)
                        throw $RangeError("index out of range");
                    r.len = l;
                }
                if (z !== $undefined)
                    throw $Error("missing end group");
                return m;
            };

            /**
             * Gets the type url for UsageRecord
             * @function getTypeUrl
             * @memberof edgemeter.v1.UsageRecord
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            UsageRecord.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/edgemeter.v1.UsageRecord";
            };

            return UsageRecord;
        })();

        v1.IngestBatchRequest = (function() {

            /**
             * Properties of an IngestBatchRequest.
             * @typedef {Object} edgemeter.v1.IngestBatchRequest.$Properties
             * @property {string|null} [collectorId] IngestBatchRequest collectorId
             * @property {string|null} [batchId] IngestBatchRequest batchId
             * @property {Array.<edgemeter.v1.UsageRecord.$Properties>|null} [records] IngestBatchRequest records
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of an IngestBatchRequest.
             * @memberof edgemeter.v1
             * @interface IIngestBatchRequest
             * @augments edgemeter.v1.IngestBatchRequest.$Properties
             * @deprecated Use edgemeter.v1.IngestBatchRequest.$Properties instead.
             */

            /**
             * Shape of an IngestBatchRequest.
             * @typedef {edgemeter.v1.IngestBatchRequest.$Properties} edgemeter.v1.IngestBatchRequest.$Shape
             */

            /**
             * Constructs a new IngestBatchRequest.
             * @memberof edgemeter.v1
             * @classdesc Represents an IngestBatchRequest.
             * @constructor
             * @param {edgemeter.v1.IngestBatchRequest.$Properties=} [p] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const IngestBatchRequest = function (p) {
                this.records = [];
                if (p)
                    for (var ks = $Object.keys(p), i = 0; i < ks.length; ++i)
                        if (p[ks[i]] != null && ks[i] !== "__proto__")
                            this[ks[i]] = p[ks[i]];
            };

            /**
             * IngestBatchRequest collectorId.
             * @member {string} collectorId
             * @memberof edgemeter.v1.IngestBatchRequest
             * @instance
             */
            IngestBatchRequest.prototype.collectorId = "";

            /**
             * IngestBatchRequest batchId.
             * @member {string} batchId
             * @memberof edgemeter.v1.IngestBatchRequest
             * @instance
             */
            IngestBatchRequest.prototype.batchId = "";

            /**
             * IngestBatchRequest records.
             * @member {Array.<edgemeter.v1.UsageRecord.$Properties>} records
             * @memberof edgemeter.v1.IngestBatchRequest
             * @instance
             */
            IngestBatchRequest.prototype.records = $util.emptyArray;

            /**
             * Creates a new IngestBatchRequest instance using the specified properties.
             * @function create
             * @memberof edgemeter.v1.IngestBatchRequest
             * @static
             * @param {edgemeter.v1.IngestBatchRequest.$Properties=} [properties] Properties to set
             * @returns {edgemeter.v1.IngestBatchRequest} IngestBatchRequest instance
             * @type {{
             *   (properties: edgemeter.v1.IngestBatchRequest.$Shape): edgemeter.v1.IngestBatchRequest & edgemeter.v1.IngestBatchRequest.$Shape;
             *   (properties?: edgemeter.v1.IngestBatchRequest.$Properties): edgemeter.v1.IngestBatchRequest;
             * }}
             */
            IngestBatchRequest.create = function(properties) {
                return new IngestBatchRequest(properties);
            };

            /**
             * Encodes the specified IngestBatchRequest message. Does not implicitly {@link edgemeter.v1.IngestBatchRequest.verify|verify} messages.
             * @function encode
             * @memberof edgemeter.v1.IngestBatchRequest
             * @static
             * @param {edgemeter.v1.IngestBatchRequest.$Properties} m IngestBatchRequest message or plain object to encode
             * @param {$protobuf.Writer} [w] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            IngestBatchRequest.encode = function (m, w, q) {
                if (!w)
                    w = $Writer.create();
                if (q === $undefined)
                    q = 0;
                if (q > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (m.collectorId != null && $Object.hasOwnProperty.call(m, "collectorId") && m.collectorId !== "")
                    w.uint32(/* id 1, wireType 2 =*/10).string(m.collectorId);
                if (m.batchId != null && $Object.hasOwnProperty.call(m, "batchId") && m.batchId !== "")
                    w.uint32(/* id 2, wireType 2 =*/18).string(m.batchId);
                if (m.records != null && m.records.length) {
                    for (var i = 0; i < m.records.length; ++i)
                        $root.edgemeter.v1.UsageRecord.encode(m.records[i], w.uint32(/* id 3, wireType 2 =*/26).fork(), q + 1).ldelim();
                }
                if (m.$unknowns != null && $Object.hasOwnProperty.call(m, "$unknowns"))
                    for (var i = 0; i < m.$unknowns.length; ++i)
                        w.raw(m.$unknowns[i]);
                return w;
            };

            /**
             * Decodes an IngestBatchRequest message from the specified reader or buffer.
             * @function decode
             * @memberof edgemeter.v1.IngestBatchRequest
             * @static
             * @param {$protobuf.Reader|Uint8Array} r Reader or buffer to decode from
             * @param {number} [l] Message length if known beforehand
             * @returns {edgemeter.v1.IngestBatchRequest & edgemeter.v1.IngestBatchRequest.$Shape} IngestBatchRequest
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            IngestBatchRequest.decode = function (r, l, z, q, g) {
                if (!(r instanceof $Reader))
                    r = $Reader.create(r);
                if (q === $undefined)
                    q = 0;
                if (q > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                var c, m, v;
                if (l === $undefined)
                    c = r.len;
                else {
                    c = r.pos + l;
                    if (c > r.len)
                        throw $RangeError("index out of range");
                    l = r.len;
                    r.len = c;
                }
                m = g || new $root.edgemeter.v1.IngestBatchRequest();
                while (r.pos < c) {
                    var s = r.pos;
                    var t = r.tag();
                    if (t === z) {
                        z = $undefined;
                        break;
                    }
                    var u = t & 7;
                    switch (t >>>= 3) {
                    case 1: {
                            if (u !== 2)
                                break;
                            if ((v = r.stringVerify()).length)
                                m.collectorId = v;
                            else
                                delete m.collectorId;
                            continue;
                        }
                    case 2: {
                            if (u !== 2)
                                break;
                            if ((v = r.stringVerify()).length)
                                m.batchId = v;
                            else
                                delete m.batchId;
                            continue;
                        }
                    case 3: {
                            if (u !== 2)
                                break;
                            if (!(m.records && m.records.length))
                                m.records = [];
                            m.records.push($root.edgemeter.v1.UsageRecord.decode(r, r.size(), $undefined, q + 1));
                            continue;
                        }
                    }
                    r.skipType(u, q, t);
                    if (!r.discardUnknown) {
                        $util.makeProp(m, "$unknowns", false);
                        (m.$unknowns || (m.$unknowns = [])).push(r.raw(s, r.pos));
                    }
                }
                if (l !== $undefined) {
                    if (r.pos !== c)
                        throw $RangeError("index out of range");
                    r.len = l;
                }
                if (z !== $undefined)
                    throw $Error("missing end group");
                return m;
            };

            /**
             * Gets the type url for IngestBatchRequest
             * @function getTypeUrl
             * @memberof edgemeter.v1.IngestBatchRequest
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            IngestBatchRequest.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/edgemeter.v1.IngestBatchRequest";
            };

            return IngestBatchRequest;
        })();

        v1.Rejection = (function() {

            /**
             * Properties of a Rejection.
             * @typedef {Object} edgemeter.v1.Rejection.$Properties
             * @property {number|null} [index] Rejection index
             * @property {string|null} [code] Rejection code
             * @property {string|null} [reason] Rejection reason
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a Rejection.
             * @memberof edgemeter.v1
             * @interface IRejection
             * @augments edgemeter.v1.Rejection.$Properties
             * @deprecated Use edgemeter.v1.Rejection.$Properties instead.
             */

            /**
             * Shape of a Rejection.
             * @typedef {edgemeter.v1.Rejection.$Properties} edgemeter.v1.Rejection.$Shape
             */

            /**
             * Constructs a new Rejection.
             * @memberof edgemeter.v1
             * @classdesc Represents a Rejection.
             * @constructor
             * @param {edgemeter.v1.Rejection.$Properties=} [p] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const Rejection = function (p) {
                if (p)
                    for (var ks = $Object.keys(p), i = 0; i < ks.length; ++i)
                        if (p[ks[i]] != null && ks[i] !== "__proto__")
                            this[ks[i]] = p[ks[i]];
            };

            /**
             * Rejection index.
             * @member {number} index
             * @memberof edgemeter.v1.Rejection
             * @instance
             */
            Rejection.prototype.index = 0;

            /**
             * Rejection code.
             * @member {string} code
             * @memberof edgemeter.v1.Rejection
             * @instance
             */
            Rejection.prototype.code = "";

            /**
             * Rejection reason.
             * @member {string} reason
             * @memberof edgemeter.v1.Rejection
             * @instance
             */
            Rejection.prototype.reason = "";

            /**
             * Creates a new Rejection instance using the specified properties.
             * @function create
             * @memberof edgemeter.v1.Rejection
             * @static
             * @param {edgemeter.v1.Rejection.$Properties=} [properties] Properties to set
             * @returns {edgemeter.v1.Rejection} Rejection instance
             * @type {{
             *   (properties: edgemeter.v1.Rejection.$Shape): edgemeter.v1.Rejection & edgemeter.v1.Rejection.$Shape;
             *   (properties?: edgemeter.v1.Rejection.$Properties): edgemeter.v1.Rejection;
             * }}
             */
            Rejection.create = function(properties) {
                return new Rejection(properties);
            };

            /**
             * Encodes the specified Rejection message. Does not implicitly {@link edgemeter.v1.Rejection.verify|verify} messages.
             * @function encode
             * @memberof edgemeter.v1.Rejection
             * @static
             * @param {edgemeter.v1.Rejection.$Properties} m Rejection message or plain object to encode
             * @param {$protobuf.Writer} [w] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            Rejection.encode = function (m, w, q) {
                if (!w)
                    w = $Writer.create();
                if (q === $undefined)
                    q = 0;
                if (q > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (m.index != null && $Object.hasOwnProperty.call(m, "index") && m.index !== 0)
                    w.uint32(/* id 1, wireType 0 =*/8).uint32(m.index);
                if (m.code != null && $Object.hasOwnProperty.call(m, "code") && m.code !== "")
                    w.uint32(/* id 2, wireType 2 =*/18).string(m.code);
                if (m.reason != null && $Object.hasOwnProperty.call(m, "reason") && m.reason !== "")
                    w.uint32(/* id 3, wireType 2 =*/26).string(m.reason);
                if (m.$unknowns != null && $Object.hasOwnProperty.call(m, "$unknowns"))
                    for (var i = 0; i < m.$unknowns.length; ++i)
                        w.raw(m.$unknowns[i]);
                return w;
            };

            /**
             * Decodes a Rejection message from the specified reader or buffer.
             * @function decode
             * @memberof edgemeter.v1.Rejection
             * @static
             * @param {$protobuf.Reader|Uint8Array} r Reader or buffer to decode from
             * @param {number} [l] Message length if known beforehand
             * @returns {edgemeter.v1.Rejection & edgemeter.v1.Rejection.$Shape} Rejection
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            Rejection.decode = function (r, l, z, q, g) {
                if (!(r instanceof $Reader))
                    r = $Reader.create(r);
                if (q === $undefined)
                    q = 0;
                if (q > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                var c, m, v;
                if (l === $undefined)
                    c = r.len;
                else {
                    c = r.pos + l;
                    if (c > r.len)
                        throw $RangeError("index out of range");
                    l = r.len;
                    r.len = c;
                }
                m = g || new $root.edgemeter.v1.Rejection();
                while (r.pos < c) {
                    var s = r.pos;
                    var t = r.tag();
                    if (t === z) {
                        z = $undefined;
                        break;
                    }
                    var u = t & 7;
                    switch (t >>>= 3) {
                    case 1: {
                            if (u !== 0)
                                break;
                            if (v = r.uint32())
                                m.index = v;
                            else
                                delete m.index;
                            continue;
                        }
                    case 2: {
                            if (u !== 2)
                                break;
                            if ((v = r.stringVerify()).length)
                                m.code = v;
                            else
                                delete m.code;
                            continue;
                        }
                    case 3: {
                            if (u !== 2)
                                break;
                            if ((v = r.stringVerify()).length)
                                m.reason = v;
                            else
                                delete m.reason;
                            continue;
                        }
                    }
                    r.skipType(u, q, t);
                    if (!r.discardUnknown) {
                        $util.makeProp(m, "$unknowns", false);
                        (m.$unknowns || (m.$unknowns = [])).push(r.raw(s, r.pos));
                    }
                }
                if (l !== $undefined) {
                    if (r.pos !== c)
                        throw $RangeError("index out of range");
                    r.len = l;
                }
                if (z !== $undefined)
                    throw $Error("missing end group");
                return m;
            };

            /**
             * Gets the type url for Rejection
             * @function getTypeUrl
             * @memberof edgemeter.v1.Rejection
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            Rejection.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/edgemeter.v1.Rejection";
            };

            return Rejection;
        })();

        v1.IngestBatchResponse = (function() {

            /**
             * Properties of an IngestBatchResponse.
             * @typedef {Object} edgemeter.v1.IngestBatchResponse.$Properties
             * @property {number|null} [accepted] IngestBatchResponse accepted
             * @property {number|null} [duplicates] IngestBatchResponse duplicates
             * @property {number|null} [conflicts] IngestBatchResponse conflicts
             * @property {Array.<edgemeter.v1.Rejection.$Properties>|null} [rejected] IngestBatchResponse rejected
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of an IngestBatchResponse.
             * @memberof edgemeter.v1
             * @interface IIngestBatchResponse
             * @augments edgemeter.v1.IngestBatchResponse.$Properties
             * @deprecated Use edgemeter.v1.IngestBatchResponse.$Properties instead.
             */

            /**
             * Shape of an IngestBatchResponse.
             * @typedef {edgemeter.v1.IngestBatchResponse.$Properties} edgemeter.v1.IngestBatchResponse.$Shape
             */

            /**
             * Constructs a new IngestBatchResponse.
             * @memberof edgemeter.v1
             * @classdesc Represents an IngestBatchResponse.
             * @constructor
             * @param {edgemeter.v1.IngestBatchResponse.$Properties=} [p] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const IngestBatchResponse = function (p) {
                this.rejected = [];
                if (p)
                    for (var ks = $Object.keys(p), i = 0; i < ks.length; ++i)
                        if (p[ks[i]] != null && ks[i] !== "__proto__")
                            this[ks[i]] = p[ks[i]];
            };

            /**
             * IngestBatchResponse accepted.
             * @member {number} accepted
             * @memberof edgemeter.v1.IngestBatchResponse
             * @instance
             */
            IngestBatchResponse.prototype.accepted = 0;

            /**
             * IngestBatchResponse duplicates.
             * @member {number} duplicates
             * @memberof edgemeter.v1.IngestBatchResponse
             * @instance
             */
            IngestBatchResponse.prototype.duplicates = 0;

            /**
             * IngestBatchResponse conflicts.
             * @member {number} conflicts
             * @memberof edgemeter.v1.IngestBatchResponse
             * @instance
             */
            IngestBatchResponse.prototype.conflicts = 0;

            /**
             * IngestBatchResponse rejected.
             * @member {Array.<edgemeter.v1.Rejection.$Properties>} rejected
             * @memberof edgemeter.v1.IngestBatchResponse
             * @instance
             */
            IngestBatchResponse.prototype.rejected = $util.emptyArray;

            /**
             * Creates a new IngestBatchResponse instance using the specified properties.
             * @function create
             * @memberof edgemeter.v1.IngestBatchResponse
             * @static
             * @param {edgemeter.v1.IngestBatchResponse.$Properties=} [properties] Properties to set
             * @returns {edgemeter.v1.IngestBatchResponse} IngestBatchResponse instance
             * @type {{
             *   (properties: edgemeter.v1.IngestBatchResponse.$Shape): edgemeter.v1.IngestBatchResponse & edgemeter.v1.IngestBatchResponse.$Shape;
             *   (properties?: edgemeter.v1.IngestBatchResponse.$Properties): edgemeter.v1.IngestBatchResponse;
             * }}
             */
            IngestBatchResponse.create = function(properties) {
                return new IngestBatchResponse(properties);
            };

            /**
             * Encodes the specified IngestBatchResponse message. Does not implicitly {@link edgemeter.v1.IngestBatchResponse.verify|verify} messages.
             * @function encode
             * @memberof edgemeter.v1.IngestBatchResponse
             * @static
             * @param {edgemeter.v1.IngestBatchResponse.$Properties} m IngestBatchResponse message or plain object to encode
             * @param {$protobuf.Writer} [w] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            IngestBatchResponse.encode = function (m, w, q) {
                if (!w)
                    w = $Writer.create();
                if (q === $undefined)
                    q = 0;
                if (q > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (m.accepted != null && $Object.hasOwnProperty.call(m, "accepted") && m.accepted !== 0)
                    w.uint32(/* id 1, wireType 0 =*/8).uint32(m.accepted);
                if (m.duplicates != null && $Object.hasOwnProperty.call(m, "duplicates") && m.duplicates !== 0)
                    w.uint32(/* id 2, wireType 0 =*/16).uint32(m.duplicates);
                if (m.conflicts != null && $Object.hasOwnProperty.call(m, "conflicts") && m.conflicts !== 0)
                    w.uint32(/* id 3, wireType 0 =*/24).uint32(m.conflicts);
                if (m.rejected != null && m.rejected.length) {
                    for (var i = 0; i < m.rejected.length; ++i)
                        $root.edgemeter.v1.Rejection.encode(m.rejected[i], w.uint32(/* id 4, wireType 2 =*/34).fork(), q + 1).ldelim();
                }
                if (m.$unknowns != null && $Object.hasOwnProperty.call(m, "$unknowns"))
                    for (var i = 0; i < m.$unknowns.length; ++i)
                        w.raw(m.$unknowns[i]);
                return w;
            };

            /**
             * Decodes an IngestBatchResponse message from the specified reader or buffer.
             * @function decode
             * @memberof edgemeter.v1.IngestBatchResponse
             * @static
             * @param {$protobuf.Reader|Uint8Array} r Reader or buffer to decode from
             * @param {number} [l] Message length if known beforehand
             * @returns {edgemeter.v1.IngestBatchResponse & edgemeter.v1.IngestBatchResponse.$Shape} IngestBatchResponse
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            IngestBatchResponse.decode = function (r, l, z, q, g) {
                if (!(r instanceof $Reader))
                    r = $Reader.create(r);
                if (q === $undefined)
                    q = 0;
                if (q > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                var c, m, v;
                if (l === $undefined)
                    c = r.len;
                else {
                    c = r.pos + l;
                    if (c > r.len)
                        throw $RangeError("index out of range");
                    l = r.len;
                    r.len = c;
                }
                m = g || new $root.edgemeter.v1.IngestBatchResponse();
                while (r.pos < c) {
                    var s = r.pos;
                    var t = r.tag();
                    if (t === z) {
                        z = $undefined;
                        break;
                    }
                    var u = t & 7;
                    switch (t >>>= 3) {
                    case 1: {
                            if (u !== 0)
                                break;
                            if (v = r.uint32())
                                m.accepted = v;
                            else
                                delete m.accepted;
                            continue;
                        }
                    case 2: {
                            if (u !== 0)
                                break;
                            if (v = r.uint32())
                                m.duplicates = v;
                            else
                                delete m.duplicates;
                            continue;
                        }
                    case 3: {
                            if (u !== 0)
                                break;
                            if (v = r.uint32())
                                m.conflicts = v;
                            else
                                delete m.conflicts;
                            continue;
                        }
                    case 4: {
                            if (u !== 2)
                                break;
                            if (!(m.rejected && m.rejected.length))
                                m.rejected = [];
                            m.rejected.push($root.edgemeter.v1.Rejection.decode(r, r.size(), $undefined, q + 1));
                            continue;
                        }
                    }
                    r.skipType(u, q, t);
                    if (!r.discardUnknown) {
                        $util.makeProp(m, "$unknowns", false);
                        (m.$unknowns || (m.$unknowns = [])).push(r.raw(s, r.pos));
                    }
                }
                if (l !== $undefined) {
                    if (r.pos !== c)
                        throw $RangeError("index out of range");
                    r.len = l;
                }
                if (z !== $undefined)
                    throw $Error("missing end group");
                return m;
            };

            /**
             * Gets the type url for IngestBatchResponse
             * @function getTypeUrl
             * @memberof edgemeter.v1.IngestBatchResponse
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            IngestBatchResponse.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/edgemeter.v1.IngestBatchResponse";
            };

            return IngestBatchResponse;
        })();

        v1.IngestService = (function() {

            /**
             * Constructs a new IngestService service.
             * @memberof edgemeter.v1
             * @classdesc Represents an IngestService
             * @extends $protobuf.rpc.Service
             * @constructor
             * @param {$protobuf.RPCImpl} rpcImpl RPC implementation
             * @param {boolean} [requestDelimited=false] Whether requests are length-delimited
             * @param {boolean} [responseDelimited=false] Whether responses are length-delimited
             */
            const IngestService = function(rpcImpl, requestDelimited, responseDelimited) {
                $protobuf.rpc.Service.call(this, rpcImpl, requestDelimited, responseDelimited);
            };

            $Object.defineProperty(IngestService.prototype = $Object.create($protobuf.rpc.Service.prototype), "constructor", { value: IngestService, writable: true, enumerable: false, configurable: true });

            /**
             * Creates new IngestService service using the specified rpc implementation.
             * @function create
             * @memberof edgemeter.v1.IngestService
             * @static
             * @param {$protobuf.RPCImpl} rpcImpl RPC implementation
             * @param {boolean} [requestDelimited=false] Whether requests are length-delimited
             * @param {boolean} [responseDelimited=false] Whether responses are length-delimited
             * @returns {IngestService} RPC service. Useful where requests and/or responses are streamed.
             */
            IngestService.create = function(rpcImpl, requestDelimited, responseDelimited) {
                return new this(rpcImpl, requestDelimited, responseDelimited);
            };

            /**
             * Callback as used by {@link edgemeter.v1.IngestService#ingestBatch}.
             * @memberof edgemeter.v1.IngestService
             * @typedef IngestBatchCallback
             * @type {function}
             * @param {Error|null} error Error, if any
             * @param {edgemeter.v1.IngestBatchResponse} [response] IngestBatchResponse
             */

            /**
             * Calls IngestBatch.
             * @memberof edgemeter.v1.IngestService
             * @typedef IngestBatch
             * @type {{
             *   (request: edgemeter.v1.IIngestBatchRequest, callback: edgemeter.v1.IngestService.IngestBatchCallback): void;
             *   (request: edgemeter.v1.IIngestBatchRequest): Promise<edgemeter.v1.IngestBatchResponse>;
             *   readonly name: "IngestBatch";
             *   readonly path: "/edgemeter.v1.IngestService/IngestBatch";
             *   readonly requestType: "IngestBatchRequest";
             *   readonly responseType: "IngestBatchResponse";
             *   readonly requestStream: undefined;
             *   readonly responseStream: undefined;
             * }}
             */

            /**
             * Calls IngestBatch.
             * @name edgemeter.v1.IngestService#ingestBatch
             * @type {edgemeter.v1.IngestService.IngestBatch}
             */
            $Object.defineProperties(IngestService.prototype.ingestBatch = function(request, callback) {
                return $protobuf.rpc.Service.prototype.rpcCall.call(this, IngestService.prototype.ingestBatch, $root.edgemeter.v1.IngestBatchRequest, $root.edgemeter.v1.IngestBatchResponse, request, callback);
            }, {
                name: { value: "IngestBatch" },
                path: { value: "/edgemeter.v1.IngestService/IngestBatch" },
                requestType: { value: "IngestBatchRequest" },
                responseType: { value: "IngestBatchResponse" },
                requestStream: { value: $undefined },
                responseStream: { value: $undefined }
            });

            return IngestService;
        })();

        v1.QuotaService = (function() {

            /**
             * Constructs a new QuotaService service.
             * @memberof edgemeter.v1
             * @classdesc Represents a QuotaService
             * @extends $protobuf.rpc.Service
             * @constructor
             * @param {$protobuf.RPCImpl} rpcImpl RPC implementation
             * @param {boolean} [requestDelimited=false] Whether requests are length-delimited
             * @param {boolean} [responseDelimited=false] Whether responses are length-delimited
             */
            const QuotaService = function(rpcImpl, requestDelimited, responseDelimited) {
                $protobuf.rpc.Service.call(this, rpcImpl, requestDelimited, responseDelimited);
            };

            $Object.defineProperty(QuotaService.prototype = $Object.create($protobuf.rpc.Service.prototype), "constructor", { value: QuotaService, writable: true, enumerable: false, configurable: true });

            /**
             * Creates new QuotaService service using the specified rpc implementation.
             * @function create
             * @memberof edgemeter.v1.QuotaService
             * @static
             * @param {$protobuf.RPCImpl} rpcImpl RPC implementation
             * @param {boolean} [requestDelimited=false] Whether requests are length-delimited
             * @param {boolean} [responseDelimited=false] Whether responses are length-delimited
             * @returns {QuotaService} RPC service. Useful where requests and/or responses are streamed.
             */
            QuotaService.create = function(rpcImpl, requestDelimited, responseDelimited) {
                return new this(rpcImpl, requestDelimited, responseDelimited);
            };

            /**
             * Callback as used by {@link edgemeter.v1.QuotaService#watch}.
             * @memberof edgemeter.v1.QuotaService
             * @typedef WatchCallback
             * @type {function}
             * @param {Error|null} error Error, if any
             * @param {edgemeter.v1.QuotaUpdate} [response] QuotaUpdate
             */

            /**
             * Calls Watch.
             * @memberof edgemeter.v1.QuotaService
             * @typedef Watch
             * @type {{
             *   (request: edgemeter.v1.IWatchQuotaRequest, callback: edgemeter.v1.QuotaService.WatchCallback): void;
             *   (request: edgemeter.v1.IWatchQuotaRequest): Promise<edgemeter.v1.QuotaUpdate>;
             *   readonly name: "Watch";
             *   readonly path: "/edgemeter.v1.QuotaService/Watch";
             *   readonly requestType: "WatchQuotaRequest";
             *   readonly responseType: "QuotaUpdate";
             *   readonly requestStream: undefined;
             *   readonly responseStream: true;
             * }}
             */

            /**
             * Calls Watch.
             * @name edgemeter.v1.QuotaService#watch
             * @type {edgemeter.v1.QuotaService.Watch}
             */
            $Object.defineProperties(QuotaService.prototype.watch = function(request, callback) {
                return $protobuf.rpc.Service.prototype.rpcCall.call(this, QuotaService.prototype.watch, $root.edgemeter.v1.WatchQuotaRequest, $root.edgemeter.v1.QuotaUpdate, request, callback);
            }, {
                name: { value: "Watch" },
                path: { value: "/edgemeter.v1.QuotaService/Watch" },
                requestType: { value: "WatchQuotaRequest" },
                responseType: { value: "QuotaUpdate" },
                requestStream: { value: $undefined },
                responseStream: { value: true }
            });

            return QuotaService;
        })();

        v1.WatchQuotaRequest = (function() {

            /**
             * Properties of a WatchQuotaRequest.
             * @typedef {Object} edgemeter.v1.WatchQuotaRequest.$Properties
             * @property {string|null} [collectorId] WatchQuotaRequest collectorId
             * @property {string|null} [afterSeq] WatchQuotaRequest afterSeq
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a WatchQuotaRequest.
             * @memberof edgemeter.v1
             * @interface IWatchQuotaRequest
             * @augments edgemeter.v1.WatchQuotaRequest.$Properties
             * @deprecated Use edgemeter.v1.WatchQuotaRequest.$Properties instead.
             */

            /**
             * Shape of a WatchQuotaRequest.
             * @typedef {edgemeter.v1.WatchQuotaRequest.$Properties} edgemeter.v1.WatchQuotaRequest.$Shape
             */

            /**
             * Constructs a new WatchQuotaRequest.
             * @memberof edgemeter.v1
             * @classdesc Represents a WatchQuotaRequest.
             * @constructor
             * @param {edgemeter.v1.WatchQuotaRequest.$Properties=} [p] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const WatchQuotaRequest = function (p) {
                if (p)
                    for (var ks = $Object.keys(p), i = 0; i < ks.length; ++i)
                        if (p[ks[i]] != null && ks[i] !== "__proto__")
                            this[ks[i]] = p[ks[i]];
            };

            /**
             * WatchQuotaRequest collectorId.
             * @member {string} collectorId
             * @memberof edgemeter.v1.WatchQuotaRequest
             * @instance
             */
            WatchQuotaRequest.prototype.collectorId = "";

            /**
             * WatchQuotaRequest afterSeq.
             * @member {string} afterSeq
             * @memberof edgemeter.v1.WatchQuotaRequest
             * @instance
             */
            WatchQuotaRequest.prototype.afterSeq = "";

            /**
             * Creates a new WatchQuotaRequest instance using the specified properties.
             * @function create
             * @memberof edgemeter.v1.WatchQuotaRequest
             * @static
             * @param {edgemeter.v1.WatchQuotaRequest.$Properties=} [properties] Properties to set
             * @returns {edgemeter.v1.WatchQuotaRequest} WatchQuotaRequest instance
             * @type {{
             *   (properties: edgemeter.v1.WatchQuotaRequest.$Shape): edgemeter.v1.WatchQuotaRequest & edgemeter.v1.WatchQuotaRequest.$Shape;
             *   (properties?: edgemeter.v1.WatchQuotaRequest.$Properties): edgemeter.v1.WatchQuotaRequest;
             * }}
             */
            WatchQuotaRequest.create = function(properties) {
                return new WatchQuotaRequest(properties);
            };

            /**
             * Encodes the specified WatchQuotaRequest message. Does not implicitly {@link edgemeter.v1.WatchQuotaRequest.verify|verify} messages.
             * @function encode
             * @memberof edgemeter.v1.WatchQuotaRequest
             * @static
             * @param {edgemeter.v1.WatchQuotaRequest.$Properties} m WatchQuotaRequest message or plain object to encode
             * @param {$protobuf.Writer} [w] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            WatchQuotaRequest.encode = function (m, w, q) {
                if (!w)
                    w = $Writer.create();
                if (q === $undefined)
                    q = 0;
                if (q > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (m.collectorId != null && $Object.hasOwnProperty.call(m, "collectorId") && m.collectorId !== "")
                    w.uint32(/* id 1, wireType 2 =*/10).string(m.collectorId);
                if (m.afterSeq != null && $Object.hasOwnProperty.call(m, "afterSeq") && m.afterSeq !== "")
                    w.uint32(/* id 2, wireType 2 =*/18).string(m.afterSeq);
                if (m.$unknowns != null && $Object.hasOwnProperty.call(m, "$unknowns"))
                    for (var i = 0; i < m.$unknowns.length; ++i)
                        w.raw(m.$unknowns[i]);
                return w;
            };

            /**
             * Decodes a WatchQuotaRequest message from the specified reader or buffer.
             * @function decode
             * @memberof edgemeter.v1.WatchQuotaRequest
             * @static
             * @param {$protobuf.Reader|Uint8Array} r Reader or buffer to decode from
             * @param {number} [l] Message length if known beforehand
             * @returns {edgemeter.v1.WatchQuotaRequest & edgemeter.v1.WatchQuotaRequest.$Shape} WatchQuotaRequest
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            WatchQuotaRequest.decode = function (r, l, z, q, g) {
                if (!(r instanceof $Reader))
                    r = $Reader.create(r);
                if (q === $undefined)
                    q = 0;
                if (q > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                var c, m, v;
                if (l === $undefined)
                    c = r.len;
                else {
                    c = r.pos + l;
                    if (c > r.len)
                        throw $RangeError("index out of range");
                    l = r.len;
                    r.len = c;
                }
                m = g || new $root.edgemeter.v1.WatchQuotaRequest();
                while (r.pos < c) {
                    var s = r.pos;
                    var t = r.tag();
                    if (t === z) {
                        z = $undefined;
                        break;
                    }
                    var u = t & 7;
                    switch (t >>>= 3) {
                    case 1: {
                            if (u !== 2)
                                break;
                            if ((v = r.stringVerify()).length)
                                m.collectorId = v;
                            else
                                delete m.collectorId;
                            continue;
                        }
                    case 2: {
                            if (u !== 2)
                                break;
                            if ((v = r.stringVerify()).length)
                                m.afterSeq = v;
                            else
                                delete m.afterSeq;
                            continue;
                        }
                    }
                    r.skipType(u, q, t);
                    if (!r.discardUnknown) {
                        $util.makeProp(m, "$unknowns", false);
                        (m.$unknowns || (m.$unknowns = [])).push(r.raw(s, r.pos));
                    }
                }
                if (l !== $undefined) {
                    if (r.pos !== c)
                        throw $RangeError("index out of range");
                    r.len = l;
                }
                if (z !== $undefined)
                    throw $Error("missing end group");
                return m;
            };

            /**
             * Gets the type url for WatchQuotaRequest
             * @function getTypeUrl
             * @memberof edgemeter.v1.WatchQuotaRequest
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            WatchQuotaRequest.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/edgemeter.v1.WatchQuotaRequest";
            };

            return WatchQuotaRequest;
        })();

        v1.QuotaUpdate = (function() {

            /**
             * Properties of a QuotaUpdate.
             * @typedef {Object} edgemeter.v1.QuotaUpdate.$Properties
             * @property {string|null} [seq] QuotaUpdate seq
             * @property {string|null} [deviceId] QuotaUpdate deviceId
             * @property {string|null} [statusJson] QuotaUpdate statusJson
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a QuotaUpdate.
             * @memberof edgemeter.v1
             * @interface IQuotaUpdate
             * @augments edgemeter.v1.QuotaUpdate.$Properties
             * @deprecated Use edgemeter.v1.QuotaUpdate.$Properties instead.
             */

            /**
             * Shape of a QuotaUpdate.
             * @typedef {edgemeter.v1.QuotaUpdate.$Properties} edgemeter.v1.QuotaUpdate.$Shape
             */

            /**
             * Constructs a new QuotaUpdate.
             * @memberof edgemeter.v1
             * @classdesc Represents a QuotaUpdate.
             * @constructor
             * @param {edgemeter.v1.QuotaUpdate.$Properties=} [p] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const QuotaUpdate = function (p) {
                if (p)
                    for (var ks = $Object.keys(p), i = 0; i < ks.length; ++i)
                        if (p[ks[i]] != null && ks[i] !== "__proto__")
                            this[ks[i]] = p[ks[i]];
            };

            /**
             * QuotaUpdate seq.
             * @member {string} seq
             * @memberof edgemeter.v1.QuotaUpdate
             * @instance
             */
            QuotaUpdate.prototype.seq = "";

            /**
             * QuotaUpdate deviceId.
             * @member {string} deviceId
             * @memberof edgemeter.v1.QuotaUpdate
             * @instance
             */
            QuotaUpdate.prototype.deviceId = "";

            /**
             * QuotaUpdate statusJson.
             * @member {string} statusJson
             * @memberof edgemeter.v1.QuotaUpdate
             * @instance
             */
            QuotaUpdate.prototype.statusJson = "";

            /**
             * Creates a new QuotaUpdate instance using the specified properties.
             * @function create
             * @memberof edgemeter.v1.QuotaUpdate
             * @static
             * @param {edgemeter.v1.QuotaUpdate.$Properties=} [properties] Properties to set
             * @returns {edgemeter.v1.QuotaUpdate} QuotaUpdate instance
             * @type {{
             *   (properties: edgemeter.v1.QuotaUpdate.$Shape): edgemeter.v1.QuotaUpdate & edgemeter.v1.QuotaUpdate.$Shape;
             *   (properties?: edgemeter.v1.QuotaUpdate.$Properties): edgemeter.v1.QuotaUpdate;
             * }}
             */
            QuotaUpdate.create = function(properties) {
                return new QuotaUpdate(properties);
            };

            /**
             * Encodes the specified QuotaUpdate message. Does not implicitly {@link edgemeter.v1.QuotaUpdate.verify|verify} messages.
             * @function encode
             * @memberof edgemeter.v1.QuotaUpdate
             * @static
             * @param {edgemeter.v1.QuotaUpdate.$Properties} m QuotaUpdate message or plain object to encode
             * @param {$protobuf.Writer} [w] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            QuotaUpdate.encode = function (m, w, q) {
                if (!w)
                    w = $Writer.create();
                if (q === $undefined)
                    q = 0;
                if (q > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (m.seq != null && $Object.hasOwnProperty.call(m, "seq") && m.seq !== "")
                    w.uint32(/* id 1, wireType 2 =*/10).string(m.seq);
                if (m.deviceId != null && $Object.hasOwnProperty.call(m, "deviceId") && m.deviceId !== "")
                    w.uint32(/* id 2, wireType 2 =*/18).string(m.deviceId);
                if (m.statusJson != null && $Object.hasOwnProperty.call(m, "statusJson") && m.statusJson !== "")
                    w.uint32(/* id 3, wireType 2 =*/26).string(m.statusJson);
                if (m.$unknowns != null && $Object.hasOwnProperty.call(m, "$unknowns"))
                    for (var i = 0; i < m.$unknowns.length; ++i)
                        w.raw(m.$unknowns[i]);
                return w;
            };

            /**
             * Decodes a QuotaUpdate message from the specified reader or buffer.
             * @function decode
             * @memberof edgemeter.v1.QuotaUpdate
             * @static
             * @param {$protobuf.Reader|Uint8Array} r Reader or buffer to decode from
             * @param {number} [l] Message length if known beforehand
             * @returns {edgemeter.v1.QuotaUpdate & edgemeter.v1.QuotaUpdate.$Shape} QuotaUpdate
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            QuotaUpdate.decode = function (r, l, z, q, g) {
                if (!(r instanceof $Reader))
                    r = $Reader.create(r);
                if (q === $undefined)
                    q = 0;
                if (q > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                var c, m, v;
                if (l === $undefined)
                    c = r.len;
                else {
                    c = r.pos + l;
                    if (c > r.len)
                        throw $RangeError("index out of range");
                    l = r.len;
                    r.len = c;
                }
                m = g || new $root.edgemeter.v1.QuotaUpdate();
                while (r.pos < c) {
                    var s = r.pos;
                    var t = r.tag();
                    if (t === z) {
                        z = $undefined;
                        break;
                    }
                    var u = t & 7;
                    switch (t >>>= 3) {
                    case 1: {
                            if (u !== 2)
                                break;
                            if ((v = r.stringVerify()).length)
                                m.seq = v;
                            else
                                delete m.seq;
                            continue;
                        }
                    case 2: {
                            if (u !== 2)
                                break;
                            if ((v = r.stringVerify()).length)
                                m.deviceId = v;
                            else
                                delete m.deviceId;
                            continue;
                        }
                    case 3: {
                            if (u !== 2)
                                break;
                            if ((v = r.stringVerify()).length)
                                m.statusJson = v;
                            else
                                delete m.statusJson;
                            continue;
                        }
                    }
                    r.skipType(u, q, t);
                    if (!r.discardUnknown) {
                        $util.makeProp(m, "$unknowns", false);
                        (m.$unknowns || (m.$unknowns = [])).push(r.raw(s, r.pos));
                    }
                }
                if (l !== $undefined) {
                    if (r.pos !== c)
                        throw $RangeError("index out of range");
                    r.len = l;
                }
                if (z !== $undefined)
                    throw $Error("missing end group");
                return m;
            };

            /**
             * Gets the type url for QuotaUpdate
             * @function getTypeUrl
             * @memberof edgemeter.v1.QuotaUpdate
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            QuotaUpdate.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/edgemeter.v1.QuotaUpdate";
            };

            return QuotaUpdate;
        })();

        return v1;
    })();

    return edgemeter;
})();

export {
  $root as default
};
