package hns

// opNewHCN names NewHCN in the errors it makes itself. Errors of the HNS
// calls NewHCN makes keep their own Op (Version, GetNetworkByName).
const opNewHCN Op = "NewHCN"
