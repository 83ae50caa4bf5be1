// The cap on /mutate work held at once: reviews in flight and the request bytes they may hold in memory.

/** Which cap refused a request, as the metric label says it. */
export type OverloadLimit = "reviews-in-flight" | "bytes-in-flight";

export interface AdmissionLimitOptions {
  /** --max-reviews-in-flight: /mutate requests between their head arriving and their answer being sent. */
  readonly maxReviewsInFlight: number;
  /** --max-bytes-in-flight: the sum of those requests' bodies, as their Content-Length declares. */
  readonly maxBytesInFlight: number;
  /** --max-body-bytes: what a request without Content-Length (chunked) is charged, the most it can hold. */
  readonly maxBodyBytes: number;
}

/** A request let in: release() gives its share back, once, however often it is called. */
export interface AdmissionTicket {
  readonly admitted: true;
  release(): void;
}

export interface AdmissionRefusal {
  readonly admitted: false;
  readonly limit: OverloadLimit;
}

export interface AdmissionLimits {
  /** Lets a request in or says which cap is full; `contentLength` undefined: a chunked body. */
  admit(contentLength: number | undefined): AdmissionTicket | AdmissionRefusal;
  reviewsInFlight(): number;
  bytesInFlight(): number;
}

/**
 * Bodies are charged before a byte of them is read, so what is held never passes the cap: a flood of large
 * reviews is answered 429 at once instead of being buffered, parsed and kept alive until the heap runs out.
 * A single review larger than the byte cap is still let in when nothing else is in flight, so that no pod
 * the body limit accepts is refused forever.
 */
export function createAdmissionLimits(options: AdmissionLimitOptions): AdmissionLimits {
  let reviews = 0;
  let bytes = 0;
  return {
    admit(contentLength) {
      const charge = Math.min(contentLength ?? options.maxBodyBytes, options.maxBodyBytes);
      if (reviews >= options.maxReviewsInFlight) return { admitted: false, limit: "reviews-in-flight" };
      if (reviews > 0 && bytes + charge > options.maxBytesInFlight)
        return { admitted: false, limit: "bytes-in-flight" };
      reviews += 1;
      bytes += charge;
      let released = false;
      return {
        admitted: true,
        release() {
          if (released) return;
          released = true;
          reviews -= 1;
          bytes -= charge;
        },
      };
    },
    reviewsInFlight: () => reviews,
    bytesInFlight: () => bytes,
  };
}
