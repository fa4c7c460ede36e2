#pragma once
// Lists of types, for the registries and the cross product built from them.

namespace rcb {

template <class... Ts>
struct TypeList {};

namespace detail {
template <class... Ls>
struct Concat;
template <>
struct Concat<> {
  using type = TypeList<>;
};
template <class... A>
struct Concat<TypeList<A...>> {
  using type = TypeList<A...>;
};
template <class... A, class... B, class... Rest>
struct Concat<TypeList<A...>, TypeList<B...>, Rest...> {
  using type = typename Concat<TypeList<A..., B...>, Rest...>::type;
};
}  // namespace detail

// Calls f.template operator()<T>() for every T in the list.
template <class... Ts, class F>
void for_each_type(TypeList<Ts...>, F&& f) {
  (f.template operator()<Ts>(), ...);
}

}  // namespace rcb
