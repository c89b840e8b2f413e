import { describe, expect, it } from "vitest";
import { can, roleOn, tokenKind, type Me } from "../src/auth";

const person = {
  user: { id: "u1", email: "a@example.com", name: "", verified_at: null, created_at: "", has_password: true },
  organizations: [
    { id: "acme", name: "Acme", created_at: "", role: "viewer" },
    { id: "mine", name: "Mine", created_at: "", role: "owner" },
  ],
  csrf_token: "t",
  session_expires_at: "",
} as Me;

describe("roles", () => {
  it("takes the role of the project's organization", () => {
    expect(roleOn("acme", null, person)).toBe("viewer");
    expect(roleOn("mine", null, person)).toBe("owner");
    expect(roleOn("elsewhere", null, person)).toBe("viewer");
  });
  it("gives keys and the operator every right", () => {
    expect(roleOn("acme", { kind: "key", token: "fb_sk_x" }, person)).toBe("owner");
  });
  it("follows the API's table", () => {
    expect([can.editContent("viewer"), can.editContent("member"), can.manageKeys("member"), can.manageKeys("admin")]).toEqual([
      false,
      true,
      false,
      true,
    ]);
  });
  it("tells keys apart", () => {
    expect([tokenKind("fb_sk_1"), tokenKind("fb_pk_1"), tokenKind("operator")]).toEqual(["secret", "public", "other"]);
  });
});
